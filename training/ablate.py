"""The ablation study: each lever of the training recipe measured on validation patients, with its time cost.

``python -m training.ablate --data DIR --out runs/ablation [--only NAME,...] [--list]``

Every variant is the recipe (the ``cpu`` preset on a short budget, so that the whole study fits a working day on
two cores) with one lever changed. Each is trained with ``training.train`` in its own folder, so an interrupted
study resumes where it stopped, and scored at the slices' original size with threshold 0.5 and no
post-processing, so that no variant profits from calibration. Test patients are never touched.

The robustness variants train on three institutions and validate on the fourth (leave-one-institution-out, over
the split's training and validation patients only); their figure is what the augmentation choices are judged by.
The table goes to ``OUT/ablation.json`` and ``OUT/ablation.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from brainmets.inference.artifact import CARD_FILE, read_card
from training.augment import AugmentConfig
from training.data import Split, institution_of

LOGGER = logging.getLogger("training.ablate")
DEFAULT_SPLIT = Path(__file__).resolve().parent / "splits" / "lgg-flair.json"
# The short budget every variant shares (the production recipe trains longer).
SHORT_BUDGET = ["--epochs", "12", "--samples-per-epoch", "1600", "--set", "val_every=3"]
# The previous recipe's augmentation as the new code expresses it: rotation, zoom, mirroring, gamma, contrast,
# brightness and noise on most patches, nothing that imitates another scanner or sequence.
LIGHT_AUGMENT = [
    "augment.p_rotation=0.8",
    "augment.rotation_deg=15",
    "augment.p_scale=0.8",
    "augment.scale=[0.9,1.15]",
    "augment.p_elastic=0",
    "augment.p_noise=1",
    "augment.noise_std=[0.05,0.05]",
    "augment.p_blur=0",
    "augment.p_brightness=1",
    "augment.brightness=[0.9,1.1]",
    "augment.p_contrast=1",
    "augment.contrast=[0.85,1.15]",
    "augment.p_low_resolution=0",
    "augment.p_gamma=1",
    "augment.p_gamma_inverted=0",
    "augment.gamma=[0.8,1.25]",
    "augment.p_bias_field=0",
    "augment.p_curve=0",
]
# nnU-Net's rates and ranges, with random intensity curves on a fifth of the patches.
NNUNET_AUGMENT = [f"augment.{k}={json.dumps(v)}" for k, v in AugmentConfig.nnunet().model_dump(mode="json").items()]
# Between the two: nnU-Net's transforms at lower rates, and fewer intensity curves.
MODERATE_AUGMENT = [
    *NNUNET_AUGMENT,
    "augment.p_elastic=0.1",
    "augment.p_blur=0.1",
    "augment.p_low_resolution=0.1",
    "augment.p_gamma_inverted=0.05",
    "augment.p_bias_field=0.1",
    "augment.p_curve=0.1",
]
# The whole-slice stages' arguments, as in training/train_all.sh (whole 256 x 256 slices, batch 8, a fifth of the
# peak learning rate, a third lesion slices, a shorter weight average).
WHOLE_SLICES = [
    "input_size=256",
    "patch_size=null",
    "batch_size=8",
    "lr=0.0005",
    "warmup_epochs=0.2",
    "lesion_fraction=0.33",
    "ema_decay=0.998",
    "val_every=1",
]
# The previous recipe: whole slices resized to 128 x 128, soft Dice alone, no weight average, light augmentation.
OLD_RECIPE = ["input_size=128", "patch_size=null", "loss=dice", "ema_decay=null", *LIGHT_AUGMENT]


@dataclass(frozen=True)
class Variant:
    """One training run of the study: ``overrides`` of the recipe, compared against ``reference``."""

    name: str
    lever: str
    change: str
    overrides: list[str] = field(default_factory=list)
    model: str = "attention_unet"
    holdout: str | None = None  # an institution: train on the others, validate on it
    extra_args: list[str] = field(default_factory=list)
    reference: str | None = "recipe"
    init_from: str | None = None  # another variant whose trained weights this one fine-tunes


VARIANTS: tuple[Variant, ...] = (
    Variant("recipe", "reference", "the recipe: 128 px native-resolution patches, Dice + BCE, EMA, its augmentation",
            reference=None),
    Variant("old_recipe", "reference", "the previous recipe (resized 128 x 128, Dice, no EMA, light augmentation)",
            OLD_RECIPE),
    Variant("light_augment", "augmentation", "the previous light augmentation, no scanner or sequence transforms",
            LIGHT_AUGMENT),
    Variant("nnunet_augment", "augmentation", "nnU-Net's rates and ranges, intensity curves on 20% of patches",
            NNUNET_AUGMENT),
    Variant("moderate_augment", "augmentation", "nnU-Net's set at lower rates, intensity curves on 10% of patches",
            MODERATE_AUGMENT),
    Variant("resize_128_nnunet", "native resolution", "whole slices resized to 128 x 128 (nnU-Net augmentation)",
            ["input_size=128", "patch_size=null", *NNUNET_AUGMENT], reference="nnunet_augment"),
    Variant("dice_only_nnunet", "Dice + BCE", "soft Dice alone (nnU-Net augmentation)", ["loss=dice", *NNUNET_AUGMENT],
            reference="nnunet_augment"),
    Variant("patch_192_light", "native resolution", "192 px patches, half the steps: equal time (light augmentation)",
            ["patch_size=192", *LIGHT_AUGMENT], extra_args=["--epochs", "6"], reference="light_augment"),
    Variant("resize_128", "native resolution", "whole slices resized to 128 x 128 instead of native-resolution patches",
            ["input_size=128", "patch_size=null"]),
    Variant("finetune_256", "native resolution", "the recipe, then 200 steps of whole 256 x 256 slices (batch 8)",
            WHOLE_SLICES, extra_args=["--epochs", "2", "--samples-per-epoch", "800"], init_from="recipe"),
    Variant("no_ema", "weight EMA", "no weight average", ["ema_decay=null"]),
    Variant("dice_only", "Dice + BCE", "soft Dice alone", ["loss=dice"]),
    Variant("lr_4e-3", "learning rate", "peak learning rate 4e-3 (recipe 2e-3)", ["lr=0.004"]),
    Variant("lr_1e-3", "learning rate", "peak learning rate 1e-3", ["lr=0.001"]),
    Variant("epochs_x2", "epochs", "twice the epochs", extra_args=["--epochs", "24"]),
    Variant("lesion_0.33", "lesion share", "a third of each batch centred on a lesion", ["lesion_fraction=0.33"]),
    Variant("unetpp_ds_equal", "deep supervision", "U-Net++, heads weighted equally (the paper)",
            ["deep_supervision_weights=equal"], model="unetpp", reference=None),
    Variant("unetpp_ds_halving", "deep supervision", "U-Net++, each head half the next deeper one",
            ["deep_supervision_weights=halving"], model="unetpp", reference="unetpp_ds_equal"),
    Variant("attention_ds", "deep supervision", "Attention U-Net, a loss on every decoder level (the paper's), halving",
            ["deep_supervision=true"]),
    Variant("loio_HT", "augmentation (LOIO)", "the recipe, HT held out", holdout="HT", reference=None),
    Variant("loio_HT_light", "augmentation (LOIO)", "light augmentation, HT held out", LIGHT_AUGMENT, holdout="HT",
            reference="loio_HT"),
    Variant("loio_HT_nnunet", "augmentation (LOIO)", "nnU-Net augmentation, HT held out", NNUNET_AUGMENT,
            holdout="HT", reference="loio_HT"),
    Variant("context_1", "2.5D input", "each slice's neighbours above and below as two more channels",
            ["context_slices=1"]),
    Variant("fp32", "precision", "fp32 instead of bf16 autocast (native bf16 CPU)", ["amp=false"]),
    Variant("poly", "schedule", "nnU-Net's polynomial decay instead of cosine", ["schedule=poly"]),
    Variant("lesion_0.67", "lesion share", "two thirds of each batch centred on a lesion", ["lesion_fraction=0.67"]),
    Variant("epochs_half", "epochs", "half the epochs", extra_args=["--epochs", "6"]),
)  # fmt: skip


def holdout_split(split: Split, site: str) -> Split:
    """Train on the split's training and validation patients of every other site, validate on ``site``'s."""
    pool = sorted(split.train + split.val)
    held = [p for p in pool if institution_of(p) == site]
    if not held:
        raise ValueError(f"no training or validation patient comes from institution {site!r}")
    return Split(split.seed, [p for p in pool if institution_of(p) != site], held, list(split.test))


def run_variant(
    variant: Variant, data: Path, out: Path, split_path: Path, python: str, budget: list[str] = SHORT_BUDGET
) -> dict[str, Any]:
    folder = out / variant.name
    folder.mkdir(parents=True, exist_ok=True)
    if variant.holdout:
        fold = holdout_split(Split.load(split_path), variant.holdout)
        split_path = out / "splits" / f"holdout-{variant.holdout}.json"
        fold.save(split_path)
    done = folder / CARD_FILE
    if not done.is_file():
        cmd = [python, "-m", "training.train", "--model", variant.model, "--data", str(data), "--out", str(folder)]
        cmd += ["--split", str(split_path), "--no-progress", "--no-calibrate", *budget, *variant.extra_args]
        if variant.init_from:
            cmd += ["--init-from", str(out / variant.init_from)]
        for item in variant.overrides:
            cmd += ["--set", item]
        LOGGER.info("training %s: %s", variant.name, variant.change)
        with (out / f"{variant.name}.log").open("a") as log:
            subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return summarize(variant, folder)


def summarize(variant: Variant, folder: Path) -> dict[str, Any]:
    card = read_card(folder)
    val = card.validation_metrics
    history = json.loads((folder / "history.json").read_text())
    steps = card.epochs * -(-int(card.recipe["samples_per_epoch"]) // int(card.recipe["batch_size"]))
    return {
        **asdict(variant),
        "validation_patients": val.get("patients"),
        "per_patient_dice": val.get("per_patient_dice_mean"),
        "pooled_dice": val.get("global", {}).get("dice"),
        "lesion_sensitivity": val.get("lesion_sensitivity"),
        "false_positive_lesions_per_patient": val.get("false_positive_lesions_per_patient"),
        "small_lesion_sensitivity": (val.get("lesion_sensitivity_by_size") or {}).get("small", {}).get("sensitivity"),
        "training_min": (card.training_time_s or 0) / 60,
        "ms_per_step": 1000 * history[-1]["elapsed_s"] / steps if steps else None,
        "precision": card.hardware.get("precision"),
        "best_epoch": card.best_epoch,
        "epochs": card.epochs,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    def f(v: Any, digits: int = 3) -> str:
        return "n/a" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))

    by_name = {r["name"]: r for r in rows}
    lines = [
        "| variant | lever | change | model | validated on | per-patient Dice | Δ (against) | pooled Dice "
        "| lesion sens. | FP lesions / patient | training min | ms / step |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = by_name.get(r["reference"] or "")
        delta = "" if ref is None else f"{r['per_patient_dice'] - ref['per_patient_dice']:+.3f} ({ref['name']})"
        where = f"{r['holdout']} (held out)" if r["holdout"] else "validation patients"
        lines.append(
            f"| {r['name']} | {r['lever']} | {r['change']} | {r['model']} | {where} | {f(r['per_patient_dice'])} | "
            f"{delta} | {f(r['pooled_dice'])} | {f(r['lesion_sensitivity'])} | "
            f"{f(r['false_positive_lesions_per_patient'], 2)} | {f(r['training_min'], 1)} | {f(r['ms_per_step'], 0)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/lgg-flair"))
    p.add_argument("--out", type=Path, default=Path("runs/ablation"))
    p.add_argument("--split", type=Path, default=DEFAULT_SPLIT)
    p.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], help="comma-separated variant names")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--summarize", action="store_true", help="only tabulate the variants already trained")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chosen = [v for v in VARIANTS if not args.only or v.name in args.only]
    if args.list:
        for v in chosen:
            print(f"{v.name:20s} {v.lever:22s} {v.change}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant in chosen:
        trained = (args.out / variant.name / CARD_FILE).is_file()
        if args.summarize and not trained:
            continue
        rows.append(run_variant(variant, args.data, args.out, args.split, sys.executable))
        (args.out / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
        (args.out / "ablation.md").write_text(markdown(rows))
        LOGGER.info("%s: validation per-patient Dice %.4f", variant.name, rows[-1]["per_patient_dice"])
    print(markdown(rows))


if __name__ == "__main__":
    main()
