"""Scores from component counts equal the scores of the rebuilt masks, for every removal setting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from brainmets.inference.postprocess import postprocess, postprocess_stack
from brainmets.metrics import confusion, lesion_counts, scores
from training.component_scores import PatientComponents


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    return (field - field.min()) / (field.max() - field.min())


@pytest.mark.parametrize("seed", range(4))
def test_counts_give_the_masks_dice_sensitivity_and_false_positive_lesions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Blobs of many sizes that run across slices, touch diagonally and overlap the truth partly or not at all.
    probability = smooth_field(rng, (7, 48, 48), 1.5) ** 3
    truth = smooth_field(rng, (7, 48, 48), 2.0) > 0.7
    truth[2:4, 30:33, 5:8] = True  # a small lesion, which removal settings may delete
    lesions = ndimage.label(truth, structure=np.ones((3, 3, 3), bool))[0]
    slices = list(probability)
    for threshold in (0.1, 0.3, 0.6):
        components = PatientComponents.build(slices, lesions, threshold)
        assert len(components.sizes) > 3
        for min_pixels in (0, 5, 20, 50):
            for min_peak in (0.0, 0.5, 0.8):
                for volume_peak in (False, True):
                    # The workers' rule for volumes, against the search's counts of the same setting.
                    mask = postprocess_stack(probability, threshold, min_pixels, min_peak, volume_peak)
                    if not volume_peak:
                        assert (
                            mask == np.stack([postprocess(p, threshold, min_pixels, min_peak) for p in slices])
                        ).all()
                    keep = components.kept(min_pixels, min_peak, volume_peak)
                    counted = lesion_counts(mask, truth)
                    assert components.dice(keep) == pytest.approx(scores(confusion(mask, truth))["dice"])
                    assert components.detected(keep) == counted.detected_lesions
                    assert components.false_positive_lesions(keep) == counted.false_positive_lesions


def test_an_empty_prediction_of_an_empty_patient_scores_one() -> None:
    empty = [np.zeros((16, 16)), np.zeros((16, 16))]
    components = PatientComponents.build(empty, np.zeros((2, 16, 16), int), 0.5)
    keep = components.kept(0, 0.0)
    assert components.dice(keep) == 1.0
    assert components.detected(keep) == 0 and components.false_positive_lesions(keep) == 0
