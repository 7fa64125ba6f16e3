"""Evaluate trained models on whole patients and write ``OUT/metrics.json`` and ``OUT/report.md``.

``python -m training.evaluate --data DIR --out DIR [--weights-dir DIR] [--models NAMES]``

Every patient folder under ``--data`` is evaluated (or only a split's subset with ``--split FILE --subset test``)
with each model artifact found under ``--weights-dir`` (default: the committed ``training/artifacts``). Patients
are slice folders (``training.data``) or, when the data holds any, NIfTI cases (``training.nifti_cases``).
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainmets.catalog import DEFAULT_ARTIFACTS_DIR
from brainmets.inference import ModelCard, SegmentationResult, Segmenter, find_artifacts
from training.comparison import paired_comparison
from training.complexity import forward_flops
from training.data import PatientVolume, Split, discover_patients, read_patients
from training.evaluation import evaluate_segmenter
from training.nifti_cases import discover_nifti_cases, read_nifti_case
from training.report import (
    load_histories,
    plot_examples,
    plot_per_patient,
    plot_training_curves,
    previous_table,
    write_report,
)

LOGGER = logging.getLogger("training.evaluate")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path, help="folder of patient folders")
    p.add_argument("--out", required=True, type=Path, help="receives metrics.json, report.md and figures")
    p.add_argument("--weights-dir", type=Path, default=DEFAULT_ARTIFACTS_DIR, help="folder of model artifacts")
    p.add_argument("--models", type=lambda s: [m for m in s.split(",") if m], help="comma-separated model names")
    p.add_argument("--split", type=Path, help="split file; with --subset, evaluate only that subset")
    p.add_argument("--subset", choices=["train", "val", "test"])
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--examples", type=int, default=4, help="example overlays in the report (0: none)")
    p.add_argument("--notes", type=Path, help="a Markdown file of discussion included in the report")
    p.add_argument(
        "--reuse-metrics",
        action="store_true",
        help="rewrite the report from OUT/metrics.json without scoring again (e.g. after adding a section)",
    )
    p.add_argument("--previous", type=Path, help="an earlier metrics.json: the report compares old against new")
    p.add_argument(
        "--section",
        action="append",
        default=[],
        metavar="TITLE=FILE",
        help="a Markdown file included under its own heading (repeatable), e.g. the ablation table",
    )
    return p.parse_args(argv)


def select_volumes(args: argparse.Namespace) -> list[PatientVolume]:
    # NIfTI cases when the data holds any (training.nifti_cases), else the slice layout of training.data.
    cases = discover_nifti_cases(args.data)
    patients: list[Any] = cases or discover_patients(args.data)
    if args.subset:
        if not args.split:
            raise SystemExit("--subset needs --split FILE")
        wanted = set(getattr(Split.load(args.split), args.subset))
        patients = [p for p in patients if p.patient_id in wanted]
        if not patients:
            raise SystemExit(f"no patient of the {args.subset} subset of {args.split} is under {args.data}")
    return [read_nifti_case(case) for case in patients] if cases else read_patients(patients)


def pick_examples(volumes: list[PatientVolume], segmenters: dict[str, Segmenter], count: int) -> list[dict[str, Any]]:
    """The largest-lesion slice of ``count`` patients spread over the list, with every model's mask."""
    if count <= 0:
        return []
    candidates = [v for v in volumes if v.lesion_slices]
    chosen = [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, min(count, len(candidates)))]
    examples = []
    for vol in chosen:
        k = int(np.argmax([m.sum() for m in vol.masks]))
        image = vol.images[k]
        masks = {name: _slice_of_volume(seg, vol.images, k).mask for name, seg in segmenters.items()}
        examples.append({"image": image, "truth": vol.masks[k], "masks": masks, "caption": f"{vol.patient_id[-13:]}"})
    return examples


def _slice_of_volume(segmenter: Segmenter, images: list[np.ndarray], k: int) -> SegmentationResult:
    """Slice ``k`` segmented as inside its volume: with the neighbours a 2.5D model is given there."""
    first = max(0, k - segmenter.card.context_slices)
    window = images[first : k + segmenter.card.context_slices + 1]
    return segmenter.predict_volume(window)[k - first]


def score(segmenters: dict[str, Segmenter], volumes: list[PatientVolume], args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of every model on ``volumes``, and the paired comparison of two models."""
    models: dict[str, Any] = {}
    for name, seg in segmenters.items():
        LOGGER.info("evaluating %s (%s) on %d patients", name, seg.version, len(volumes))
        result = evaluate_segmenter(seg, volumes)
        card = seg.card
        result["gflops"] = forward_flops(seg.model.float().cpu(), tuple(card.input_size), card.in_channels) / 1e9
        seg.model.to(seg.device)
        result["card"] = card.model_dump(mode="json", exclude={"test_metrics"})
        models[name] = result
        print(f"{name}: per-patient Dice mean {result['per_patient_dice_mean']:.4f} over {result['patients']} patients")
    metrics: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(args.data),
        "split": str(args.split) if args.split else None,
        "subset": args.subset,
        "models": models,
    }
    if len(models) == 2:
        a, b = list(models)
        dice = {m: {r["patient"]: r["dice"] for r in models[m]["per_patient"]} for m in (a, b)}
        if len(volumes) >= 2:
            metrics["comparison"] = {"models": [a, b], **paired_comparison(dice[a], dice[b])}
    return metrics


# What a model's scores depend on: its weights (the version) and every post-processing rule of its card, which a
# new calibration may change without new weights.
SCORED_AS = (
    "version",
    "threshold",
    "min_component_pixels",
    "min_component_peak",
    "volume_peak",
    "min_component_voxels",
    "flip_averaging",
)


def _scored_as(card: dict[str, Any]) -> tuple[Any, ...]:
    # A card written before a field existed was scored with that field's default (volume_peak: the slice's peak).
    return tuple(card.get(k, ModelCard.model_fields[k].default) for k in SCORED_AS)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    artifacts = find_artifacts(args.weights_dir, args.models)
    if not artifacts:
        raise SystemExit(f"no model artifact (model_card.json + weights.safetensors) under {args.weights_dir}")
    if args.models:
        missing = set(args.models) - set(artifacts)
        if missing:
            raise SystemExit(f"no artifact for {', '.join(sorted(missing))} under {args.weights_dir}")
    volumes = select_volumes(args)
    args.out.mkdir(parents=True, exist_ok=True)
    segmenters = {name: Segmenter.load(path, device=args.device) for name, path in artifacts.items()}
    if args.reuse_metrics:
        metrics = json.loads((args.out / "metrics.json").read_text())
        stale = {
            m
            for m, r in metrics["models"].items()
            if m in segmenters and _scored_as(r["card"]) != _scored_as(segmenters[m].card.model_dump(mode="json"))
        }
        if stale:
            raise SystemExit(
                f"{args.out / 'metrics.json'} scored other versions or post-processing of {', '.join(sorted(stale))}"
            )
        models = metrics["models"]
        # The same versions: their scores stand, and their cards are read again for what was added since (the
        # held-out validation figures).
        for m, r in models.items():
            if m in segmenters:
                r["card"] = segmenters[m].card.model_dump(mode="json", exclude={"test_metrics"})
    else:
        metrics = score(segmenters, volumes, args)
        models = metrics["models"]
    figures = {
        "per_patient": plot_per_patient(models, args.out),
        "curves": plot_training_curves(load_histories(artifacts), args.out),
        "examples": plot_examples(pick_examples(volumes, segmenters, args.examples), args.out),
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    notes = args.notes.read_text() if args.notes else None
    sections = {}
    for item in args.section:
        title, sep, file = item.partition("=")
        if not sep or not Path(file).is_file():
            raise SystemExit(f"--section {item!r}: expected TITLE=FILE with an existing file")
        sections[title] = Path(file).read_text()
    if args.previous:
        sections = {"Old against new": previous_table(json.loads(args.previous.read_text()), metrics), **sections}
    report = write_report(metrics, args.out, figures, notes, sections)
    print(f"wrote {args.out / 'metrics.json'} and {report}")


if __name__ == "__main__":
    main()
