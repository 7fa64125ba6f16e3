"""Leave-one-institution-out: how the recipe holds up on a site it never saw.

``python -m training.loio --data DIR --out runs/loio [--models attention_unet,unetpp] [--sites CS,DU,HT]``

For each institution of the split's training and validation patients, each model is trained with the recipe on
the other institutions and scored on the held-out one (whole patients at their original size, threshold 0.5, no
post-processing, as in the ablation). Test patients are never used. The budget defaults to the ablation's short
one; ``--budget`` passes other ``training.train`` arguments. ``--stages recipe`` runs the three stages of
``train_all.sh cpu`` with its 2.5D stage on (the published lineage's recipe) per fold, each from the last one's
weights and scored on the held-out site: the patch stage on that budget, then whole slices and 2.5D whole slices
for ``STAGE_EPOCHS`` each. Results go to ``OUT/loio.json`` and ``OUT/loio.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from brainmets.networks import DISPLAY_NAMES, MODEL_NAMES
from training.ablate import DEFAULT_SPLIT, SHORT_BUDGET, WHOLE_SLICES, Variant, run_variant
from training.data import Split, institution_of

LOGGER = logging.getLogger("training.loio")
# The whole-slice stages' length on a short budget.
STAGE_EPOCHS = ["--epochs", "2", "--samples-per-epoch", "1600"]
STAGES = ("patches", "recipe")


def loio_variant(model: str, site: str) -> Variant:
    """The recipe with ``site`` held out; named as the ablation's own run, so one study's folder serves both."""
    prefix = "" if model == "attention_unet" else f"{model}_"
    return Variant(f"{prefix}loio_{site}", "institution", f"the recipe, {site} held out", model=model, holdout=site)


def fold_variants(model: str, site: str, stages: str = "patches") -> list[tuple[str, Variant]]:
    """A fold's runs, each named by its stage: the patch stage alone, or every stage of the recipe."""
    patches = loio_variant(model, site)
    if stages == "patches":
        return [("patches", patches)]

    def stage(suffix: str, what: str, start: Variant, overrides: list[str]) -> Variant:
        return Variant(
            f"{patches.name}_{suffix}",
            "institution",
            f"the recipe's {what} stage from {start.name}, {site} held out",
            overrides,
            model=model,
            holdout=site,
            extra_args=STAGE_EPOCHS,
            reference=start.name,
            init_from=start.name,
        )

    slices = stage("slices", "whole-slice", patches, WHOLE_SLICES)
    context = stage("context", "2.5D", slices, [*WHOLE_SLICES, "context_slices=1"])
    return [("patches", patches), ("+ whole slices", slices), ("+ 2.5D", context)]


def sites_of(split: Split) -> list[str]:
    return sorted({institution_of(p) for p in split.train + split.val})


def markdown(rows: list[dict[str, Any]]) -> str:
    def f(v: Any, digits: int = 3) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    lines = [
        "| model | stage | held-out site | patients | per-patient Dice | pooled Dice | lesion sens. "
        "| small-lesion sens. | FP lesions / patient | training min, with earlier stages |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {DISPLAY_NAMES.get(r['model'], r['model'])} | {r['stage']} | {r['holdout']} | "
            f"{r['validation_patients']} | "
            f"{f(r['per_patient_dice'])} | {f(r['pooled_dice'])} | {f(r['lesion_sensitivity'])} | "
            f"{f(r['small_lesion_sensitivity'])} | {f(r['false_positive_lesions_per_patient'], 2)} | "
            f"{f(r['training_min'], 1)} |"
        )
    for model, stage in dict.fromkeys((r["model"], r["stage"]) for r in rows):
        mine = [r for r in rows if r["model"] == model and r["stage"] == stage]
        weights = np.array([r["validation_patients"] for r in mine], float)
        mean = float(np.average([r["per_patient_dice"] for r in mine], weights=weights))
        lines.append(
            f"| {DISPLAY_NAMES.get(model, model)} | {stage} | all sites, by patient | {int(weights.sum())} | "
            f"{mean:.3f} | | | | | |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/lgg-flair"))
    p.add_argument("--out", type=Path, default=Path("runs/ablation"), help="shared with training.ablate")
    p.add_argument("--split", type=Path, default=DEFAULT_SPLIT)
    p.add_argument("--models", type=lambda s: [m for m in s.split(",") if m], default=list(MODEL_NAMES))
    p.add_argument("--sites", type=lambda s: [x for x in s.split(",") if x], help="default: every site")
    p.add_argument("--budget", type=shlex.split, default=SHORT_BUDGET, help="training.train arguments, quoted")
    p.add_argument("--stages", choices=STAGES, default="patches", help="the patch stage alone, or every stage")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    split = Split.load(args.split)
    sites = args.sites or sites_of(split)
    rows = []
    for site in sites:
        for model in args.models:
            for stage, variant in fold_variants(model, site, args.stages):
                # The later stages set their own epochs; the budget's other arguments apply to every stage.
                row = run_variant(variant, args.data, args.out, args.split, sys.executable, args.budget)
                rows.append({**row, "stage": stage})
                (args.out / "loio.json").write_text(json.dumps(rows, indent=2) + "\n")
                (args.out / "loio.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
