"""Choose an artifact's post-processing on the validation patients and write it into its model card.

``python -m training.calibrate --artifact DIR --data DIR --split FILE``

The validation patients are predicted without and with flip averaging, and the search of
``training.postprocess_search`` chooses the threshold, smallest lesion kept, least peak probability (hysteresis)
and whether a volume looks for it over each whole lesion, flip averaging and the smallest 3D component a volume
keeps. The choice goes into the card, so that evaluation and the workers apply it through the one prediction path;
volume workers and evaluation apply the lesion-wide peak and the 3D step, single slices do not. The card also
carries the search's leave-one-patient-out figures: chosen and scored on the same patients, the calibrated Dice
flatters the model.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainmets.inference import Segmenter
from brainmets.inference.artifact import read_card, write_card
from brainmets.inference.postprocess import postprocess_stack
from training.data import PatientVolume, Split, read_subset
from training.evaluation import evaluate_segmenter
from training.postprocess_search import (
    DICE_TIE,
    choose_with_flip,
    edges_reached,
    grid_for,
    held_out_scores,
    plain_setting,
    score_settings,
    search_volume,
)

LOGGER = logging.getLogger("training.calibrate")
CALIBRATION_FILE = "calibration.json"


def validation_probabilities(segmenter: Segmenter, volumes: list[PatientVolume]) -> dict[bool, list[list[np.ndarray]]]:
    """Each patient's slice probabilities, without and with flip averaging."""
    card = segmenter.card
    by_flip = {}
    for flip in (False, True):
        segmenter.card = card.model_copy(update={"flip_averaging": flip})
        by_flip[flip] = [[r.probability for r in segmenter.predict_volume(v.images)] for v in volumes]
    segmenter.card = card
    return by_flip


def calibrate(artifact: Path, volumes: list[PatientVolume], device: str = "auto") -> dict[str, Any]:
    """Search the post-processing with and without flip averaging; write the best into the card, with the
    search's leave-one-patient-out figures beside the validation metrics."""
    segmenter = Segmenter.load(artifact, device=device)
    card = read_card(artifact)
    truths = [v.masks for v in volumes]
    probabilities_by_flip = validation_probabilities(segmenter, volumes)
    scores = {flip: score_settings(p, truths) for flip, p in probabilities_by_flip.items()}
    flip, searches = choose_with_flip({flip: grid_for(s) for flip, s in scores.items()})
    best, grid = searches[flip]
    edges = edges_reached(best)
    # Then, on the slice masks just chosen, the smallest 3D component a volume keeps.
    chosen_masks = [
        postprocess_stack(
            np.stack(patient),
            best["threshold"],
            best["min_component_pixels"],
            best["min_component_peak"],
            best["volume_peak"],
        )
        for patient in probabilities_by_flip[flip]
    ]
    best_volume, volume_grid = search_volume(chosen_masks, [np.stack(t) for t in truths])
    card = card.model_copy(
        update={
            "threshold": best["threshold"],
            "min_component_pixels": best["min_component_pixels"],
            "min_component_peak": best["min_component_peak"],
            "volume_peak": best["volume_peak"],
            "flip_averaging": flip,
            "min_component_voxels": best_volume["min_component_voxels"],
        }
    )
    segmenter.card = card
    summary = {k: v for k, v in evaluate_segmenter(segmenter, volumes).items() if k != "per_patient"}
    summary["postprocessing_search"] = {
        "chosen": {**best, "flip_averaging": flip},
        "baseline": plain_setting(searches[False][1]),
        "best_without_flip": searches[False][0],
        "best_with_flip": searches[True][0],
        "at_grid_edge": edges,
        "constraint": "lesion sensitivity at least that of the plain model (threshold 0.5, nothing removed, no"
        " flip averaging), and no lesion lost to component removal",
        "choice": f"within {DICE_TIE} of the best per-patient Dice, the fewest false-positive lesions per patient",
        "grid_file": CALIBRATION_FILE,
        "volume": {"chosen": best_volume},
    }
    if len(volumes) >= 2:
        # Each patient scored with the setting chosen on the others: what the search gives an unseen patient.
        held_out = held_out_scores(scores, [v.patient_id for v in volumes])
        summary["postprocessing_search"]["held_out"] = {k: v for k, v in held_out.items() if k != "in_sample"}
    # The whole search (about 1,500 settings) lies beside the card, not in it: the card is served to every client.
    grids = {"flip_averaging": flip, "grid": grid, "volume_grid": volume_grid}
    (artifact / CALIBRATION_FILE).write_text(json.dumps(grids, indent=1) + "\n")
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
    volumes = read_subset(args.data, Split.load(args.split).val)
    for artifact in args.artifact:
        summary = calibrate(artifact, volumes, args.device)
        s = summary["postprocessing_search"]
        print(
            f"{artifact}: threshold {s['chosen']['threshold']}, min component {s['chosen']['min_component_pixels']} px,"
            f" least peak {s['chosen']['min_component_peak']}"
            f"{' over each lesion' if s['chosen']['volume_peak'] else ''},"
            f" flip averaging {'on' if s['chosen']['flip_averaging'] else 'off'},"
            f" min 3D component {s['volume']['chosen']['min_component_voxels']} voxels;"
            f" validation per-patient Dice {s['baseline']['dice']:.4f} -> {summary['per_patient_dice_mean']:.4f}"
        )


if __name__ == "__main__":
    main()
