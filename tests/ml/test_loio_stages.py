"""Leave-one-institution-out of the whole recipe: each stage starts from the last and holds the same site out."""

from __future__ import annotations

import re
from pathlib import Path

from training.ablate import WHOLE_SLICES
from training.loio import fold_variants, markdown

TRAIN_ALL = Path(__file__).resolve().parents[2] / "training" / "train_all.sh"


def test_the_recipe_fold_chains_its_stages_on_one_held_out_site() -> None:
    stages = fold_variants("unetpp", "CS", "recipe")
    assert [s for s, _ in stages] == ["patches", "+ whole slices", "+ 2.5D"]
    patches, slices, context = (v for _, v in stages)
    assert {v.holdout for _, v in stages} == {"CS"} and {v.model for _, v in stages} == {"unetpp"}
    assert patches.init_from is None and slices.init_from == patches.name and context.init_from == slices.name
    assert "context_slices=1" in context.overrides and "context_slices=1" not in slices.overrides
    assert fold_variants("unetpp", "CS") == stages[:1]


def test_the_whole_slice_stages_use_train_all_arguments() -> None:
    line = re.search(r"^slices=\((.*?)\)", TRAIN_ALL.read_text(), re.M | re.S)
    assert line is not None
    recipe = line.group(1)
    for item in WHOLE_SLICES:
        key, value = item.split("=")
        flag = f"--{key.replace('_', '-')} {value}"
        assert f"--set {item}" in recipe or flag in recipe or key in ("input_size", "patch_size"), item
    assert "--patch-size 0" in recipe


def test_the_table_averages_each_stage_over_the_sites_by_patient() -> None:
    row = {"model": "attention_unet", "holdout": "CS", "validation_patients": 10, "pooled_dice": 0.8,
           "lesion_sensitivity": 1.0, "small_lesion_sensitivity": None, "false_positive_lesions_per_patient": 2.0,
           "training_min": 7.0}  # fmt: skip
    rows = [
        {**row, "stage": "patches", "per_patient_dice": 0.5},
        {**row, "stage": "+ 2.5D", "per_patient_dice": 0.7},
        {**row, "holdout": "DU", "validation_patients": 30, "stage": "+ 2.5D", "per_patient_dice": 0.8},
    ]
    table = markdown(rows)
    assert "| Attention U-Net | patches | all sites, by patient | 10 | 0.500 |" in table
    assert "| Attention U-Net | + 2.5D | all sites, by patient | 40 | 0.775 |" in table
