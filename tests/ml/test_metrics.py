"""Metric functions against hand-computed values and the empty-mask policy."""

from __future__ import annotations

import numpy as np
import pytest

from brainmets.metrics import confusion, hd95, lesion_counts, overlap_metrics
from training.comparison import paired_comparison


def masks() -> tuple[np.ndarray, np.ndarray]:
    pred = np.zeros((6, 6), bool)
    truth = np.zeros((6, 6), bool)
    pred[0:2, 0:3] = True  # 6 pixels
    truth[0:2, 1:4] = True  # 6 pixels, 4 shared
    return pred, truth


def test_hand_computed_overlap() -> None:
    pred, truth = masks()
    c = confusion(pred, truth)
    assert (c.tp, c.fp, c.fn, c.tn) == (4, 2, 2, 28)
    m = overlap_metrics(pred, truth)
    assert m["dice"] == pytest.approx(8 / 12)
    assert m["iou"] == pytest.approx(4 / 8)
    assert m["precision"] == pytest.approx(4 / 6)
    assert m["recall"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(m["dice"])


def test_empty_policy() -> None:
    empty = np.zeros((4, 4), bool)
    some = empty.copy()
    some[1, 1] = True
    assert overlap_metrics(empty, empty) == {"dice": 1.0, "iou": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    missed = overlap_metrics(empty, some)
    assert missed["dice"] == 0.0 and missed["recall"] == 0.0 and missed["precision"] == 0.0
    false_alarm = overlap_metrics(some, empty)
    assert false_alarm["dice"] == 0.0 and false_alarm["precision"] == 0.0
    assert hd95(empty, some) is None


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differs"):
        overlap_metrics(np.zeros((2, 2)), np.zeros((3, 3)))


def test_hd95_of_a_shifted_square() -> None:
    a = np.zeros((20, 20), bool)
    a[5:10, 5:10] = True
    b = np.roll(a, 3, axis=1)
    assert hd95(a, a) == 0.0
    assert hd95(a, b) == pytest.approx(3.0)


def test_lesion_counts_in_3d() -> None:
    truth = np.zeros((3, 10, 10), bool)
    truth[0:2, 1:3, 1:3] = True  # lesion A spans two slices
    truth[2, 7:9, 7:9] = True  # lesion B
    pred = np.zeros_like(truth)
    pred[1, 2, 2] = True  # touches A
    pred[0, 6, 0] = True  # a false positive
    counts = lesion_counts(pred, truth)
    assert (counts.true_lesions, counts.detected_lesions) == (2, 1)
    assert (counts.predicted_lesions, counts.false_positive_lesions) == (2, 1)


def test_paired_comparison_finds_a_clear_difference() -> None:
    rng = np.random.default_rng(0)
    a = {f"p{i}": 0.8 + rng.normal(0, 0.02) for i in range(20)}
    b = {k: v - 0.1 for k, v in a.items()}
    result = paired_comparison(a, b)
    assert result["significant"] and result["mean_difference"] == pytest.approx(0.1)
    same = paired_comparison(a, dict(a))
    assert not same["significant"]


def test_the_bootstrap_interval_follows_the_confidence_asked_for() -> None:
    rng = np.random.default_rng(1)
    a = {f"p{i}": 0.8 + rng.normal(0, 0.05) for i in range(30)}
    b = {k: v - 0.02 + rng.normal(0, 0.05) for k, v in a.items()}
    wide, narrow = paired_comparison(a, b, alpha=0.01), paired_comparison(a, b, alpha=0.2)
    assert wide["confidence"] == pytest.approx(0.99) and narrow["confidence"] == pytest.approx(0.8)
    assert wide["bootstrap_interval"][0] < narrow["bootstrap_interval"][0]
    assert wide["bootstrap_interval"][1] > narrow["bootstrap_interval"][1]
