"""Evaluating a segmenter on whole patients: per-patient (volume), pooled, per-slice and lesion-wise figures.

Every figure goes through ``Segmenter.predict_volume``, the same path the workers use, at each slice's
original size. Definitions (also written into the report):
- per-patient Dice: a patient's slices stacked into one volume, Dice of that volume; mean and median over
  patients (the primary figure).
- global: TP/FP/FN pooled over every pixel of every patient, then Dice, IoU, precision, recall, F1.
- lesion-slices Dice: mean over slices whose truth is non-empty of the 2D Dice.
- empty-slice false-positive rate: share of slices with empty truth where anything is predicted.
- lesion sensitivity: 3D connected components (full connectivity) of the truth volumes touched by the
  prediction, over all true components; false-positive lesions: predicted components touching no truth.
- lesion sensitivity by size: the same per class of a lesion's largest in-plane area, in pixels of a 256 x 256
  slice: small (< 100), medium (100 to 999) and large (1,000 or more).
- HD95: 95th percentile symmetric surface distance of the volumes in pixels; patients where either volume is
  empty are left out of the mean and counted.
Empty masks follow ``brainmets.metrics`` (both empty = 1, one empty = 0).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from brainmets.inference import Segmenter
from brainmets.metrics import (
    SIZE_CLASSES,
    Confusion,
    confusion,
    detection_by_size,
    hd95,
    lesion_counts,
    overlap_metrics,
    scores,
)
from training.data import PatientVolume


def evaluate_patient(segmenter: Segmenter, volume: PatientVolume) -> tuple[dict[str, Any], Confusion, float]:
    started = time.perf_counter()
    results = segmenter.predict_volume(volume.images)
    seconds = time.perf_counter() - started
    pred = segmenter.volume_mask(results)  # as the volume workers do
    truth = np.stack(volume.masks)
    counts = confusion(pred, truth)
    lesions = lesion_counts(pred, truth)
    lesion_slice_dice = [overlap_metrics(p, t)["dice"] for p, t in zip(pred, truth, strict=True) if t.any()]
    empty = [bool(p.any()) for p, t in zip(pred, truth, strict=True) if not t.any()]
    row = {
        "patient": volume.patient_id,
        "slices": len(volume.images),
        "lesion_slices": len(lesion_slice_dice),
        **overlap_metrics(pred, truth),
        "hd95": hd95(pred, truth),
        "true_lesions": lesions.true_lesions,
        "detected_lesions": lesions.detected_lesions,
        "false_positive_lesions": lesions.false_positive_lesions,
        "lesions_by_size": detection_by_size(pred, truth),
        "empty_slices": len(empty),
        "empty_slices_with_prediction": int(sum(empty)),
        "lesion_slices_dice_mean": float(np.mean(lesion_slice_dice)) if lesion_slice_dice else None,
        "truth_volume_px": int(truth.sum()),
        "predicted_volume_px": int(pred.sum()),
    }
    return row, counts, seconds


def evaluate_segmenter(segmenter: Segmenter, volumes: Sequence[PatientVolume]) -> dict[str, Any]:
    """All figures for one model over the given patients (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    pooled = Confusion(0, 0, 0, 0)
    seconds = 0.0
    slice_dice: list[float] = []
    for volume in volumes:
        row, counts, elapsed = evaluate_patient(segmenter, volume)
        rows.append(row)
        pooled = pooled + counts
        seconds += elapsed
        if row["lesion_slices_dice_mean"] is not None:
            slice_dice += [row["lesion_slices_dice_mean"]] * row["lesion_slices"]
    dice = np.array([r["dice"] for r in rows])
    hds = [r["hd95"] for r in rows if r["hd95"] is not None]
    n_slices = sum(r["slices"] for r in rows)
    empty = sum(r["empty_slices"] for r in rows)
    true_lesions = sum(r["true_lesions"] for r in rows)
    return {
        "patients": len(rows),
        "slices": n_slices,
        "per_patient_dice_mean": float(dice.mean()) if len(rows) else None,
        "per_patient_dice_median": float(np.median(dice)) if len(rows) else None,
        "per_patient_dice_std": float(dice.std()) if len(rows) else None,
        "per_patient_iou_mean": float(np.mean([r["iou"] for r in rows])) if rows else None,
        "per_patient_precision_mean": float(np.mean([r["precision"] for r in rows])) if rows else None,
        "per_patient_recall_mean": float(np.mean([r["recall"] for r in rows])) if rows else None,
        "global": scores(pooled),
        "lesion_slices_dice_mean": float(np.mean(slice_dice)) if slice_dice else None,
        "empty_slice_false_positive_rate": (
            sum(r["empty_slices_with_prediction"] for r in rows) / empty if empty else None
        ),
        "lesion_sensitivity": (sum(r["detected_lesions"] for r in rows) / true_lesions if true_lesions else None),
        "false_positive_lesions_per_patient": (
            float(np.mean([r["false_positive_lesions"] for r in rows])) if rows else None
        ),
        "lesion_sensitivity_by_size": sensitivity_by_size(rows),
        "hd95_mean": float(np.mean(hds)) if hds else None,
        "hd95_patients": len(hds),
        "inference_ms_per_slice": 1000.0 * seconds / n_slices if n_slices else None,
        "per_patient": rows,
    }


def sensitivity_by_size(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pooled true and detected lesions per size class, and the share detected (``None`` with no lesion)."""
    out: dict[str, dict[str, Any]] = {}
    for name, _, _ in SIZE_CLASSES:
        true = sum(r["lesions_by_size"][name]["true"] for r in rows)
        detected = sum(r["lesions_by_size"][name]["detected"] for r in rows)
        out[name] = {"true": true, "detected": detected, "sensitivity": detected / true if true else None}
    return out
