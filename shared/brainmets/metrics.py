"""Segmentation metrics as pure NumPy functions, shared by evaluation and the workers.

Empty-mask policy (written down once, applied everywhere): when a ratio's denominator is zero because a mask
is empty, the ratio is 1.0 if prediction and truth are both empty (perfect agreement) and 0.0 otherwise.
So an empty truth with an empty prediction scores Dice = IoU = precision = recall = 1, and an empty truth with
any predicted pixel scores 0 on all four. HD95 is undefined unless both masks are non-empty (``None``).
For binary masks F1 equals Dice; it is reported under its own name because readers look for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def _check_pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth shape {truth.shape}")
    return pred, truth


def confusion(pred: np.ndarray, truth: np.ndarray) -> Confusion:
    pred, truth = _check_pair(pred, truth)
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(truth)) - tp
    return Confusion(tp, fp, fn, pred.size - tp - fp - fn)


def _ratio(num: int, den: int, both_empty: bool) -> float:
    if den == 0:
        return 1.0 if both_empty else 0.0
    return num / den


def scores(c: Confusion) -> dict[str, float]:
    """Dice, IoU, precision, recall and F1 from a confusion count (empty policy in the module docstring)."""
    both_empty = c.tp + c.fp + c.fn == 0
    dice = _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, both_empty)
    return {
        "dice": dice,
        "iou": _ratio(c.tp, c.tp + c.fp + c.fn, both_empty),
        "precision": _ratio(c.tp, c.tp + c.fp, both_empty),
        "recall": _ratio(c.tp, c.tp + c.fn, both_empty),
        "f1": dice,
    }


def overlap_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Dice, IoU, precision, recall and F1 of two binary masks of the same shape (2D or 3D)."""
    return scores(confusion(pred, truth))


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    return overlap_metrics(pred, truth)["dice"]


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=np.ones((3,) * mask.ndim, bool), border_value=0)


def hd95(pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, ...] | None = None) -> float | None:
    """95th percentile of the symmetric surface distances (pixel units unless ``spacing`` is given).

    ``None`` when either mask is empty: the distance is undefined there.
    """
    pred, truth = _check_pair(pred, truth)
    if not pred.any() or not truth.any():
        return None
    sp = spacing or (1.0,) * pred.ndim
    sp_pred, sp_truth = _surface(pred), _surface(truth)
    to_truth = ndimage.distance_transform_edt(~sp_truth, sampling=sp)
    to_pred = ndimage.distance_transform_edt(~sp_pred, sampling=sp)
    distances = np.concatenate([to_truth[sp_pred], to_pred[sp_truth]])
    return float(np.percentile(distances, 95))


@dataclass(frozen=True)
class LesionCounts:
    """Lesion-wise detection: connected components (full connectivity) matched by any overlap."""

    true_lesions: int
    detected_lesions: int
    predicted_lesions: int
    false_positive_lesions: int


def lesion_counts(pred: np.ndarray, truth: np.ndarray) -> LesionCounts:
    """A true lesion is detected if any predicted voxel touches it; a predicted lesion touching no true
    lesion is a false positive. Works on 2D slices or 3D stacks."""
    pred, truth = _check_pair(pred, truth)
    structure = np.ones((3,) * pred.ndim, bool)
    truth_labels, n_truth = ndimage.label(truth, structure=structure)
    pred_labels, n_pred = ndimage.label(pred, structure=structure)
    detected = len(np.unique(truth_labels[pred & (truth_labels > 0)]))
    matched_pred = len(np.unique(pred_labels[truth & (pred_labels > 0)]))
    return LesionCounts(n_truth, detected, n_pred, n_pred - matched_pred)


# Lesion size classes by the largest in-plane area of a lesion, in pixels of a 256 x 256 slice (about 0.9 mm
# pixels in the LGG data: < 100 px is under about 10 mm across, RANO-BM's smallest measurable lesion).
SIZE_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("small", 0, 100),
    ("medium", 100, 1000),
    ("large", 1000, float("inf")),
)
REFERENCE_SLICE_PIXELS = 256 * 256


def lesion_sizes(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of a truth stack ``(slices, H, W)`` (full connectivity) and each lesion's largest in-plane area,
    in pixels of a 256 x 256 slice (index 0 is the background)."""
    truth = np.asarray(truth, dtype=bool)
    if truth.ndim == 2:
        truth = truth[None]
    labels, n = ndimage.label(truth, structure=np.ones((3, 3, 3), bool))
    largest = np.zeros(n + 1)
    for plane in labels:
        counts = np.bincount(plane.ravel(), minlength=n + 1)
        np.maximum(largest, counts, out=largest)
    largest[0] = 0
    return labels, largest * REFERENCE_SLICE_PIXELS / (truth.shape[-2] * truth.shape[-1])


def detection_by_size(pred: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, int]]:
    """True and detected lesions of a stack per size class of ``SIZE_CLASSES`` (detected: any overlap)."""
    pred, truth = _check_pair(pred, truth)
    labels, areas = lesion_sizes(truth)
    pred = pred.reshape(labels.shape)
    hit = np.zeros(len(areas), bool)
    hit[np.unique(labels[pred & (labels > 0)])] = True
    out = {}
    for name, lo, hi in SIZE_CLASSES:
        members = (areas >= lo) & (areas < hi)
        members[0] = False
        out[name] = {"true": int(members.sum()), "detected": int((members & hit).sum())}
    return out
