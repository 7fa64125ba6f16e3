"""Publish trained runs as the project's artifacts, and record test metrics in their model cards.

``python -m training.publish --runs runs/cpu`` copies each run's weights, card and training log into
``training/artifacts/<model>/``; ``python -m training.publish --metrics training/reports/metrics.json`` writes
the evaluation's summary into each published card's ``test_metrics``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from brainmets.catalog import DEFAULT_ARTIFACTS_DIR
from brainmets.inference import CARD_FILE, WEIGHTS_FILE, find_artifacts
from brainmets.inference.artifact import read_card, write_card
from training.calibrate import CALIBRATION_FILE

PUBLISHED_FILES = (WEIGHTS_FILE, CARD_FILE, "history.json", "history.csv", CALIBRATION_FILE)
TEST_KEYS = (
    "patients",
    "slices",
    "per_patient_dice_mean",
    "per_patient_dice_median",
    "global",
    "lesion_slices_dice_mean",
    "empty_slice_false_positive_rate",
    "lesion_sensitivity",
    "lesion_sensitivity_by_size",
    "false_positive_lesions_per_patient",
    "hd95_mean",
    "inference_ms_per_slice",
    "gflops",
)


def publish_runs(runs: Path, artifacts: Path) -> list[Path]:
    published = []
    for name, run in find_artifacts(runs).items():
        target = artifacts / name
        target.mkdir(parents=True, exist_ok=True)
        for file in PUBLISHED_FILES:
            if (run / file).is_file():
                shutil.copy2(run / file, target / file)
        published.append(target)
    return published


def record_test_metrics(metrics_path: Path, artifacts: Path) -> list[str]:
    metrics = json.loads(metrics_path.read_text())
    updated = []
    for name, folder in find_artifacts(artifacts).items():
        if name not in metrics["models"]:
            continue
        summary = {k: metrics["models"][name].get(k) for k in TEST_KEYS}
        summary["evaluated_at"] = metrics["created_at"]
        summary["subset"] = metrics.get("subset")
        card = read_card(folder)
        write_card(card.model_copy(update={"test_metrics": summary}), folder)
        updated.append(name)
    return updated


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, help="folder of training runs to publish")
    p.add_argument("--metrics", type=Path, help="metrics.json whose figures go into the cards' test_metrics")
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS_DIR)
    args = p.parse_args(argv)
    if args.runs:
        for folder in publish_runs(args.runs, args.artifacts):
            print(f"published {folder}")
    if args.metrics:
        print(f"test metrics recorded for {', '.join(record_test_metrics(args.metrics, args.artifacts))}")


if __name__ == "__main__":
    main()
