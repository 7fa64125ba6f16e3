"""Choose the post-processing on the validation patients: threshold, smallest lesion kept, and flip averaging.

``python -m training.calibrate --artifact DIR --data DIR --split FILE``

Like nnU-Net's post-processing search, the choice is made on validation patients only (never on test ones)
and written into the model card, so that evaluation and the workers apply it through the one prediction path.
Small components are removed per slice, as the workers see single slices.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from brainmets.inference import Segmenter
from brainmets.inference.artifact import read_card, write_card
from brainmets.metrics import confusion, scores
from training.data import PatientVolume, Split, discover_patients, read_patients
from training.evaluation import evaluate_segmenter

LOGGER = logging.getLogger("training.calibrate")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
MIN_PIXELS = (0, 16, 32, 64, 128, 256)
# Flip averaging doubles the inference time: it must earn a clear gain, not one within the noise of a dozen
# validation patients.
FLIP_MIN_GAIN = 0.01


def search(
    probabilities: list[list[np.ndarray]], truths: list[list[np.ndarray]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Mean per-patient Dice for every (threshold, min pixels) pair; the best pair first by score, then by
    the smallest change from the plain 0.5 threshold."""
    grid = []
    for threshold in THRESHOLDS:
        labelled = [[ndimage.label(p >= threshold) for p in patient] for patient in probabilities]
        sizes = [[np.bincount(lab.ravel(), minlength=n + 1) for lab, n in patient] for patient in labelled]
        for min_px in MIN_PIXELS:
            dice = []
            for patient, patient_sizes, truth in zip(labelled, sizes, truths, strict=True):
                masks = []
                for (lab, _), size in zip(patient, patient_sizes, strict=True):
                    keep = size >= min_px
                    keep[0] = False
                    masks.append(keep[lab])
                dice.append(scores(confusion(np.stack(masks), np.stack(truth)))["dice"])
            grid.append({"threshold": threshold, "min_component_pixels": min_px, "dice": float(np.mean(dice))})
    best = max(grid, key=lambda g: (round(g["dice"], 4), -abs(g["threshold"] - 0.5), -g["min_component_pixels"]))
    return best, grid


def calibrate(artifact: Path, volumes: list[PatientVolume], device: str = "auto") -> dict[str, Any]:
    """Search threshold and smallest component with and without flip averaging; write the best into the card.

    Flip averaging doubles the inference time, so it is taken only when it raises validation Dice by FLIP_MIN_GAIN.
    """
    segmenter = Segmenter.load(artifact, device=device)
    card = read_card(artifact)
    truths = [v.masks for v in volumes]
    searches: dict[bool, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for flip in (False, True):
        segmenter.card = card.model_copy(update={"flip_averaging": flip})
        probabilities = [[r.probability for r in segmenter.predict_batch(v.images)] for v in volumes]
        searches[flip] = search(probabilities, truths)
    flip = searches[True][0]["dice"] - searches[False][0]["dice"] >= FLIP_MIN_GAIN
    best, grid = searches[flip]
    baseline = next(g for g in searches[False][1] if g["threshold"] == 0.5 and g["min_component_pixels"] == 0)
    card = card.model_copy(
        update={
            "threshold": best["threshold"],
            "min_component_pixels": best["min_component_pixels"],
            "flip_averaging": flip,
        }
    )
    segmenter.card = card
    summary = {k: v for k, v in evaluate_segmenter(segmenter, volumes).items() if k != "per_patient"}
    summary["postprocessing_search"] = {
        "chosen": {**best, "flip_averaging": flip},
        "baseline": baseline,
        "best_without_flip": searches[False][0],
        "best_with_flip": searches[True][0],
        "grid": grid,
    }
    write_card(card.model_copy(update={"validation_metrics": summary}), artifact)
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True, type=Path, action="append", help="model folder (repeatable)")
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--split", required=True, type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    wanted = set(Split.load(args.split).val)
    volumes = read_patients([pt for pt in discover_patients(args.data) if pt.patient_id in wanted])
    for artifact in args.artifact:
        summary = calibrate(artifact, volumes, args.device)
        s = summary["postprocessing_search"]
        print(
            f"{artifact}: threshold {s['chosen']['threshold']}, min component {s['chosen']['min_component_pixels']} px,"
            f" flip averaging {'on' if s['chosen']['flip_averaging'] else 'off'};"
            f" validation per-patient Dice {s['baseline']['dice']:.4f} -> {summary['per_patient_dice_mean']:.4f}"
        )


if __name__ == "__main__":
    main()
