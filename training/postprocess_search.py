"""The post-processing search: every setting of threshold, smallest lesion kept and least peak probability
(hysteresis) scored on validation patients, and the rules that choose one.

Like nnU-Net's post-processing search, the choice is made on validation patients only (never on test ones).
Small components are removed per slice, as the workers see single slices, and never one of more than
``MAX_MIN_COMPONENT_PIXELS`` pixels. The choice is constrained to keep every lesion the plain model finds (see
``choose``), and to meet the false-positive target where a setting does at a small cost. On the chosen slice
masks stacked per patient, the smallest 3D component a volume keeps is chosen the same way (``search_volume``).
Scoring is separate from choosing, so that a choice made on some patients can be scored on others
(``held_out_scores``): the honest estimate of what the search gives a patient it has not seen.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from brainmets.inference.postprocess import postprocess_volume
from brainmets.metrics import confusion, lesion_counts, scores
from training.component_scores import PatientComponents

LOGGER = logging.getLogger("training.postprocess_search")
# Wide grids, so that a best value at an edge means something (a warning is logged when one is).
# Down to 0.005: a network fine-tuned on whole slices marks a lesion's rim with probabilities of a few per cent,
# and 0.10, then 0.02, sat at the old lower edges.
THRESHOLDS = (0.005, 0.01, 0.02, 0.05, *(round(0.1 + 0.05 * k, 2) for k in range(17)), 0.95)  # 0.005 ... 0.95
# No shipped model drops a component of more than 50 pixels: metastases are often a few millimetres across.
MAX_MIN_COMPONENT_PIXELS = 50
MIN_PIXELS = (0, 5, 10, 15, 20, 30, 40, MAX_MIN_COMPONENT_PIXELS)
# A component must reach this probability somewhere to be kept (0: no such rule). Only values above the threshold
# act. Up to 0.9995: the false positives that survive fine-tuning are confident ones, and 0.995 sat at the old
# upper edge.
MIN_PEAKS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995)
# Where the peak is looked for: each slice's component, or its whole 3D lesion (``volume_peak``). On the
# validation patients the lesion-wide peak kept the faint end slices of lesions the networks were sure of, which
# the slice rule cut, and let a stricter peak remove more false positives.
PEAK_SCOPES = (False, True)
BASELINE = {"threshold": 0.5, "min_component_pixels": 0, "min_component_peak": 0.0, "volume_peak": False}
KEYS = tuple(BASELINE)
# Pairs within this mean per-patient Dice of the best are a tie (the noise of a dozen validation patients); the
# tie goes to the fewest false-positive lesions, which a reader has to look at and dismiss one by one.
DICE_TIE = 0.002
# The product's target for false-positive lesions per patient: a setting above it is chosen only when no setting
# that keeps the lesions meets it at a small cost (below). Dice alone would trade many false alarms for a sliver
# of overlap, and each one is a lesion a reader has to look at and dismiss.
MAX_FALSE_POSITIVES_PER_PATIENT = 0.5
# ... at a bounded cost: at most this much mean per-patient Dice below the best (the spread of one training run).
# Without a bound, a setting that merges a whole slice into one component would "meet" it.
TARGET_MAX_DICE_COST = 0.01
# Volumes may then drop 3D components under this many voxels; 0 keeps every one. The same 50 cap: a larger 3D
# component may lie on one slice, where it would be a component of more than 50 pixels.
MIN_VOXELS = (0, 5, 10, 20, 30, 40, MAX_MIN_COMPONENT_PIXELS)
# Flip averaging doubles the inference time: it must earn a clear gain, not one within the noise of a dozen
# validation patients.
FLIP_MIN_GAIN = 0.01


def _detected(truth_labels: list[np.ndarray], masks: list[np.ndarray]) -> int:
    return sum(len(np.unique(lab[m & (lab > 0)])) for lab, m in zip(truth_labels, masks, strict=True))


@dataclass(frozen=True)
class SettingScores:
    """Every post-processing setting's scores on every patient: rows are settings, columns patients.

    Scoring the settings is the search's cost; aggregating them over any group of patients is cheap, so a choice
    can be made on some patients and scored on the others (the leave-one-patient-out estimate of
    ``training.select_version``).
    """

    settings: list[dict[str, Any]]  # threshold, min_component_pixels, min_component_peak, volume_peak
    dice: np.ndarray  # per-patient Dice
    detected: np.ndarray  # true 3D lesions touched
    false_positives: np.ndarray  # false-positive 3D lesions
    lesions: np.ndarray  # (patients,): true 3D lesions
    unfiltered: np.ndarray  # (settings,): the row of the same threshold with nothing removed

    @property
    def patients(self) -> int:
        return len(self.lesions)


def score_settings(
    probabilities: list[list[np.ndarray]],
    truths: list[list[np.ndarray]],
    peak_scopes: Sequence[bool] = PEAK_SCOPES,
) -> SettingScores:
    """Score every (threshold, smallest component, least peak, where the peak is looked for) setting on each
    patient; ``peak_scopes`` (False, True: on the slice's component, over the lesion) narrows the last, so that the
    search before the lesion-wide peak can be run again."""
    full = np.ones((3, 3, 3), bool)
    truth_labels = [ndimage.label(np.stack(t), structure=full)[0] for t in truths]
    settings: list[dict[str, Any]] = []
    rows: list[list[tuple[float, int, int]]] = []
    unfiltered: list[int] = []
    for threshold in THRESHOLDS:
        components = [
            PatientComponents.build(patient, lesions, threshold)
            for patient, lesions in zip(probabilities, truth_labels, strict=True)
        ]
        # Many settings keep the same components; each distinct choice is scored once per patient.
        scored: list[dict[bytes, tuple[float, int, int]]] = [{} for _ in components]
        first = len(settings)
        for min_px in MIN_PIXELS:
            for min_peak in (peak for peak in MIN_PEAKS if peak == 0 or peak > threshold):
                # Without a peak rule the two scopes are the same setting.
                for volume_peak in peak_scopes if min_peak > 0 else (False,):
                    row = []
                    for c, cache in zip(components, scored, strict=True):
                        keep = c.kept(min_px, min_peak, volume_peak)
                        key = np.packbits(keep).tobytes()
                        if key not in cache:
                            cache[key] = (c.dice(keep), c.detected(keep), c.false_positive_lesions(keep))
                        row.append(cache[key])
                    settings.append(
                        {
                            "threshold": threshold,
                            "min_component_pixels": min_px,
                            "min_component_peak": min_peak,
                            "volume_peak": volume_peak,
                        }
                    )
                    rows.append(row)
                    unfiltered.append(first)  # MIN_PIXELS and MIN_PEAKS both start at 0: nothing removed
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(probabilities), 3)
    return SettingScores(
        settings=settings,
        dice=table[..., 0],
        detected=table[..., 1].astype(np.int64),
        false_positives=table[..., 2].astype(np.int64),
        lesions=np.array([int(lab.max()) for lab in truth_labels], np.int64),
        unfiltered=np.array(unfiltered, np.int64),
    )


def grid_for(scores: SettingScores, patients: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Each setting's mean per-patient Dice, lesion sensitivity and false-positive lesions over ``patients``
    (indices; all by default), and whether removing components loses a lesion its threshold found."""
    cols = np.arange(scores.patients) if patients is None else np.asarray(patients)
    n_true = int(scores.lesions[cols].sum())
    dice = scores.dice[:, cols].mean(axis=1)
    sensitivity = scores.detected[:, cols].sum(axis=1) / n_true if n_true else np.ones(len(scores.settings))
    fp = scores.false_positives[:, cols].mean(axis=1)
    loses = sensitivity < sensitivity[scores.unfiltered] - 1e-9
    return [
        {
            **setting,
            "dice": float(dice[k]),
            "lesion_sensitivity": float(sensitivity[k]),
            "false_positive_lesions_per_patient": float(fp[k]),
            "loses_lesions": bool(loses[k]),
        }
        for k, setting in enumerate(scores.settings)
    ]


def search(
    probabilities: list[list[np.ndarray]], truths: list[list[np.ndarray]], floor: float | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every (threshold, smallest component, least peak, peak scope) setting on the validation patients;
    pick the best (``choose``)."""
    return choose(grid_for(score_settings(probabilities, truths)), floor)


def choose(
    grid: list[dict[str, Any]], floor: float | None = None, warn: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Pick the best setting of a scored grid; mark each setting's eligibility in it (``warn``: log when the
    false-positive target is out of reach or the choice sits at a grid edge).

    Each setting (a "pair" below) has the mean per-patient Dice, the lesion sensitivity (3D lesions touched) and
    the false-positive lesions per patient. A pair is eligible only if its lesion sensitivity is at least that of
    the plain model (threshold 0.5, nothing removed) and removing components loses no lesion that its threshold
    found: per-patient Dice alone rewards deleting small true lesions. ``floor`` raises the sensitivity a pair
    must reach (the plain model's without flip averaging, when this search is for flip-averaged probabilities).
    Of the eligible pairs, only those with at most ``MAX_FALSE_POSITIVES_PER_PATIENT`` false-positive lesions
    per patient compete, where any has so few while finding as many lesions as the pair of best Dice and
    within ``TARGET_MAX_DICE_COST`` of its Dice: the target never costs a lesion, nor more than a run's noise.
    Among them, the pairs within ``DICE_TIE`` of the best Dice are a tie: the fewest false-positive lesions win,
    then the higher Dice, then the smallest change from the plain model (the slice's own peak before the
    lesion's).
    """
    baseline = plain_setting(grid)
    required = max(baseline["lesion_sensitivity"], floor or 0.0)
    for g in grid:
        g["eligible"] = not g["loses_lesions"] and g["lesion_sensitivity"] >= required - 1e-9
    eligible = [g for g in grid if g["eligible"]]
    if not eligible:  # nothing reaches the floor: no post-processing at all, never one that loses lesions
        return {**baseline, "eligible": False}, grid
    by_dice = max(eligible, key=lambda g: g["dice"])
    on_target = [
        g
        for g in eligible
        if g["false_positive_lesions_per_patient"] <= MAX_FALSE_POSITIVES_PER_PATIENT
        and g["lesion_sensitivity"] >= by_dice["lesion_sensitivity"] - 1e-9
        and g["dice"] >= by_dice["dice"] - TARGET_MAX_DICE_COST
    ]
    if not on_target and warn:
        LOGGER.warning(
            "no setting meets the target of %s false-positive lesions per patient without losing a lesion or more"
            " than %s Dice (best-Dice setting: %.2f)",
            MAX_FALSE_POSITIVES_PER_PATIENT,
            TARGET_MAX_DICE_COST,
            by_dice["false_positive_lesions_per_patient"],
        )
    competing = on_target or eligible
    best_dice = max(g["dice"] for g in competing)
    tied = [g for g in competing if g["dice"] >= best_dice - DICE_TIE]
    best = min(
        tied,
        key=lambda g: (
            round(g["false_positive_lesions_per_patient"], 4),
            -round(g["dice"], 4),
            abs(g["threshold"] - 0.5),
            g["min_component_pixels"],
            g["min_component_peak"],
            g.get("volume_peak", False),
        ),
    )
    for edge in edges_reached(best) if warn else []:
        LOGGER.warning("the best %s sits at the edge of the search grid", edge)
    return best, grid


def search_volume(masks: list[np.ndarray], truths: list[np.ndarray]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The smallest 3D component to keep in whole volumes, on the per-slice masks already chosen.

    Each size gets the mean per-patient Dice; only sizes that lose no lesion the unfiltered masks find are
    eligible (0 always is); the best wins on Dice, then on the smaller size.
    """
    full = np.ones((3, 3, 3), bool)
    truth_labels = [ndimage.label(t, structure=full)[0] for t in truths]
    n_true = sum(int(lab.max()) for lab in truth_labels)
    grid = []
    for min_voxels in MIN_VOXELS:
        kept = [postprocess_volume(m, min_voxels) for m in masks]
        sensitivity = _detected(truth_labels, kept) / n_true if n_true else 1.0
        fp = [lesion_counts(m, t).false_positive_lesions for m, t in zip(kept, truths, strict=True)]
        grid.append(
            {
                "min_component_voxels": min_voxels,
                "dice": float(np.mean([scores(confusion(m, t))["dice"] for m, t in zip(kept, truths, strict=True)])),
                "lesion_sensitivity": sensitivity,
                "false_positive_lesions_per_patient": float(np.mean(fp)),
            }
        )
    unfiltered = grid[0]["lesion_sensitivity"]
    eligible = [g for g in grid if g["lesion_sensitivity"] >= unfiltered - 1e-9]
    best = max(eligible, key=lambda g: (round(g["dice"], 4), -g["min_component_voxels"]))
    return best, grid


def plain_setting(grid: list[dict[str, Any]]) -> dict[str, Any]:
    # Grids written before the peak scope was searched lack it: theirs was the slice's peak.
    return next(g for g in grid if all(g.get(k, False) == v for k, v in BASELINE.items()))


def edges_reached(best: dict[str, Any]) -> list[str]:
    """The settings whose chosen value lies at an edge of its grid (the grid may be too narrow there)."""
    edges = []
    if best["threshold"] in (THRESHOLDS[0], THRESHOLDS[-1]):
        edges.append(f"threshold {best['threshold']} (grid {THRESHOLDS[0]} to {THRESHOLDS[-1]})")
    if best["min_component_pixels"] == MIN_PIXELS[-1]:
        edges.append(f"smallest component {best['min_component_pixels']} px (the largest allowed)")
    if best.get("min_component_peak", 0.0) == MIN_PEAKS[-1]:
        edges.append(f"least peak probability {best['min_component_peak']} (grid up to {MIN_PEAKS[-1]})")
    return edges


def choose_with_flip(
    grids: dict[bool, list[dict[str, Any]]], warn: bool = True
) -> tuple[bool, dict[bool, tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """The best setting without and with flip averaging, and whether to average.

    The flip-averaged choice must not lose a lesion the plain model (no flip, threshold 0.5, nothing removed)
    finds, and flip averaging doubles the inference time, so it is taken only for a gain of ``FLIP_MIN_GAIN``.
    """
    plain = choose(grids[False], warn=warn)
    flipped = choose(grids[True], floor=plain_setting(plain[1])["lesion_sensitivity"], warn=warn)
    flip = bool(flipped[0].get("eligible", True) and flipped[0]["dice"] - plain[0]["dice"] >= FLIP_MIN_GAIN)
    return flip, {False: plain, True: flipped}


def _row(scores: SettingScores, setting: dict[str, Any]) -> int:
    key = tuple(setting[k] for k in KEYS)
    return next(k for k, s in enumerate(scores.settings) if tuple(s[k] for k in KEYS) == key)


def describe(setting: dict[str, Any], flip: bool = False) -> str:
    """A setting in a few words, as logs and the held-out counts name it."""
    scope = " over the lesion" if setting.get("volume_peak") else ""
    return (
        f"{'flip, ' if flip else ''}{setting['threshold']}, {setting['min_component_pixels']} px,"
        f" peak {setting['min_component_peak']}{scope}"
    )


def held_out_scores(scores: dict[bool, SettingScores], patient_ids: list[str]) -> dict[str, Any]:
    """Score each patient with the post-processing chosen on the others (``scores``: without and with flip
    averaging); beside it, the usual in-sample figure, chosen and scored on all of them."""
    n = len(patient_ids)
    if n < 2:
        raise ValueError(f"leave-one-patient-out needs at least two patients, got {n}")
    dice = np.zeros(n)
    detected = np.zeros(n, np.int64)
    false_positives = np.zeros(n, np.int64)
    chosen: Counter[str] = Counter()
    for i in range(n):
        others = np.delete(np.arange(n), i)
        flip, searches = choose_with_flip({f: grid_for(s, others) for f, s in scores.items()}, warn=False)
        best = searches[flip][0]
        row = _row(scores[flip], best)
        dice[i] = scores[flip].dice[row, i]
        detected[i] = scores[flip].detected[row, i]
        false_positives[i] = scores[flip].false_positives[row, i]
        chosen[describe(best, flip)] += 1
    flip, searches = choose_with_flip({f: grid_for(s) for f, s in scores.items()}, warn=False)
    lesions = int(scores[False].lesions.sum())
    return {
        "patients": n,
        "per_patient_dice_mean": float(dice.mean()),
        "lesion_sensitivity": float(detected.sum() / lesions) if lesions else 1.0,
        "false_positive_lesions_per_patient": float(false_positives.mean()),
        "per_patient_dice": dict(zip(patient_ids, dice.tolist(), strict=True)),
        "settings_chosen": dict(chosen.most_common()),
        "in_sample": {**searches[flip][0], "flip_averaging": flip},
    }
