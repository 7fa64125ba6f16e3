"""Train one network: ``python -m training.train --model unetpp --data DIR --out DIR [--preset cpu]``.

The run resumes from ``OUT/checkpoint.pt`` when it is there. ``OUT`` receives the artifact
(``weights.safetensors`` and ``model_card.json``), the per-epoch log (``history.csv``/``.json``), the split
and the configuration.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import torch

from brainmets.imaging.neighbours import channels_for
from brainmets.imaging.preprocess import NormalizationConfig
from brainmets.inference import ModelCard, Segmenter, save_artifact
from brainmets.inference.artifact import TrainingData, file_sha256
from brainmets.networks import ARCHITECTURES, MODEL_NAMES
from brainmets.precision import describe, select_device
from training.calibrate import calibrate
from training.config import PRESETS, TrainConfig, apply_overrides, preset_config
from training.data import PatientVolume, Split, discover_patients, institution_of, read_patients, split_patients
from training.evaluation import evaluate_segmenter
from training.slices import to_tensors
from training.trainer import Trainer

LOGGER = logging.getLogger("training.train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--data", required=True, type=Path, help="folder of patient folders")
    p.add_argument("--out", required=True, type=Path, help="run folder; receives the artifact")
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--epochs", type=int)
    p.add_argument("--split", type=Path, help="split file (patient ids); made and saved if absent")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--seed", type=int)
    p.add_argument("--input-size", type=int)
    p.add_argument("--widths", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 16,32,64,128,256")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--samples-per-epoch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--patch-size", type=int, help="training patch side (0: whole slices)")
    p.add_argument("--loss", choices=["dice", "dice_bce"])
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any TrainConfig field, dotted for nested ones, value as JSON (e.g. ema_decay=null, augment.p_curve=0)",
    )
    p.add_argument("--sequence", default="FLAIR", help="the MRI sequence of the data, written into the model card")
    p.add_argument("--dataset-name", help="the dataset's name for the model card (default: the data folder's name)")
    p.add_argument("--clahe", action="store_true", help="CLAHE before normalisation")
    p.add_argument(
        "--init-from",
        type=Path,
        help="start from this artifact's weights (same network), e.g. to fine-tune at another input size",
    )
    p.add_argument("--max-minutes", type=float, help="wall-time budget; the best epoch so far is kept")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--version", help="version string for the model card (default: date and preset)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-calibrate", action="store_true", help="keep threshold 0.5 and no small-lesion removal")
    return p.parse_args(argv)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def resolve_split(args: argparse.Namespace, patient_ids: list[str]) -> tuple[Split, Path]:
    path = args.split or args.out / "split.json"
    if path.is_file():
        split = Split.load(path)
        missing = set(split.train + split.val + split.test) - set(patient_ids)
        if missing:
            raise ValueError(f"split {path} names patients not under --data: {sorted(missing)[:5]}")
    else:
        split = split_patients(patient_ids, seed=args.split_seed)
        split.save(path)
    return split, path


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    config = preset_config(
        args.model,
        args.preset,
        epochs=args.epochs,
        seed=args.seed,
        input_size=args.input_size,
        widths=args.widths,
        batch_size=args.batch_size,
        samples_per_epoch=args.samples_per_epoch,
        lr=args.lr,
        loss=args.loss,
        max_minutes=args.max_minutes,
        num_threads=torch.get_num_threads(),
        normalization=NormalizationConfig(clahe=args.clahe) if args.clahe else None,
        patch_size=args.patch_size,
    )
    if args.patch_size == 0:
        config = config.model_copy(update={"patch_size": None})
    config = apply_overrides(config, args.overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(config.model_dump_json(indent=2) + "\n")

    patients = discover_patients(args.data)
    split, split_path = resolve_split(args, [p.patient_id for p in patients])
    by_id = {p.patient_id: p for p in patients}
    train_vols = read_patients([by_id[i] for i in split.train], progress=not args.no_progress)
    val_vols = read_patients([by_id[i] for i in split.val], progress=not args.no_progress)
    train_set = to_tensors(train_vols, config.input_size, config.normalization, config.context_slices)
    val_set = to_tensors(val_vols, config.input_size, config.normalization, config.context_slices)
    LOGGER.info(
        "train: %d patients, %d slices (%d with lesion); val: %d patients, %d slices",
        len(split.train),
        len(train_set),
        int(train_set.lesion.sum()),
        len(split.val),
        len(val_set),
    )

    trainer = Trainer(config, train_set, val_set, args.out, device)
    if not trainer.resume() and args.init_from:
        trainer.init_from(args.init_from)
    state = trainer.fit(progress=not args.no_progress)

    card = build_card(args, config, trainer, split_path, split, device, train_vols)
    save_artifact(trainer.best_model(), card, args.out)
    started = time.perf_counter()
    if args.no_calibrate:
        segmenter = Segmenter.load(args.out, device=str(device))
        val_summary = {k: v for k, v in evaluate_segmenter(segmenter, val_vols).items() if k != "per_patient"}
        save_artifact(segmenter.model, card.model_copy(update={"validation_metrics": val_summary}), args.out)
    else:
        val_summary = calibrate(args.out, val_vols, str(device))
    LOGGER.info("validation at original size took %.1f s", time.perf_counter() - started)
    print(
        f"{config.model}: best epoch {state.best_epoch}, validation per-patient Dice "
        f"{val_summary['per_patient_dice_mean']:.4f}, training time {state.elapsed_s / 60:.1f} min -> {args.out}"
    )


def default_version(model: str, preset: str, stamp: datetime, started_from: str | None = None) -> str:
    """``<model>-<preset>[-finetuned]-<date>``, numbered ``.2``, ``.3``... where the artifact it started from
    already has that name: two sets of weights must never share a version, or reports and caches would take one
    for the other."""
    version = f"{model}-{preset}{'-finetuned' if started_from else ''}-{stamp:%Y%m%d}"
    if started_from is None or not started_from.startswith(version):
        return version
    suffix = started_from[len(version) :]
    if suffix == "":
        return f"{version}.2"
    if suffix.startswith(".") and suffix[1:].isdigit():
        return f"{version}.{int(suffix[1:]) + 1}"
    return version


def build_card(
    args: argparse.Namespace,
    config: TrainConfig,
    trainer: Trainer,
    split_path: Path,
    split: Split,
    device: torch.device,
    train_vols: list[PatientVolume],
) -> ModelCard:
    stamp = datetime.now(UTC)
    shapes = Counter(image.shape for vol in train_vols for image in vol.images)
    trained_on = TrainingData(
        sequence=args.sequence,
        in_plane_size=shapes.most_common(1)[0][0] if shapes else None,
        dataset=args.dataset_name or args.data.name,
        institutions=sorted({institution_of(v.patient_id) for v in train_vols}),
        patients=len(train_vols),
        slices=sum(shapes.values()),
    )
    started_from = (trainer.initialised_from or {}).get("version")
    return ModelCard(
        name=config.model,
        architecture=ARCHITECTURES[config.model].__name__,
        version=args.version or default_version(config.model, config.preset, stamp, started_from),
        network=config.network_kwargs(),
        input_size=(config.input_size, config.input_size),
        in_channels=channels_for(config.context_slices),
        context_slices=config.context_slices,
        normalization=config.normalization,
        threshold=config.threshold,
        recipe={
            **config.model_dump(mode="json", exclude={"normalization", "model"}),
            "initialised_from": trainer.initialised_from,
        },
        trained_on=trained_on,
        epochs=trainer.state.epoch,
        best_epoch=trainer.state.best_epoch,
        training_time_s=round(trainer.total_training_s, 1),
        hardware={**describe(device), "precision": trainer.precision},
        data={
            "dataset": args.data.name,
            "split_file": split_path.name,
            "split_sha256": file_sha256(split_path),
            "train_patients": len(split.train),
            "val_patients": len(split.val),
            "test_patients": len(split.test),
        },
        validation_metrics={"per_patient_dice_mean_at_input_size": trainer.state.best_metric},
        created_at=stamp.isoformat(timespec="seconds"),
        git_commit=git_commit(),
    )


if __name__ == "__main__":
    main()
