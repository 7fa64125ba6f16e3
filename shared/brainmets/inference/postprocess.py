"""Post-processing of a probability map into a mask: one definition, used by the workers and the calibration.

A pixel is lesion where the probability reaches the threshold; connected components (8-connectivity in a slice)
smaller than ``min_component_pixels``, or whose highest probability stays under ``min_component_peak``, are then
dropped. The second rule is hysteresis thresholding: a lesion's extent comes from the (low) threshold, but only a
component the network is sure of somewhere survives, which removes faint false positives of any size while a small
lesion the network sees clearly stays. In a volume the peak may instead be looked for over the whole lesion
(``volume_peak``: the 26-connected 3D component above the threshold), so that the faint first and last slices of a
lesion the network is sure of elsewhere are kept (``postprocess_stack``). A volume's stacked masks may then lose 3D
components smaller than ``min_component_voxels`` (``postprocess_volume``). Calibration labels once per threshold and
tries every smallest size on the same labels, so the steps are exposed separately.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), bool)
FULL_3D = np.ones((3, 3, 3), bool)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of a 2D mask's 8-connected components and each label's size (index 0 is the background)."""
    labels, n = ndimage.label(mask, structure=EIGHT_CONNECTED)
    return labels, np.bincount(labels.ravel(), minlength=n + 1)


def component_peaks(probability: np.ndarray, labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each label's highest probability (index 0, the background, is 0)."""
    peaks = np.zeros(len(sizes), np.float32)
    if len(sizes) > 1:
        peaks[1:] = ndimage.maximum(probability, labels, index=np.arange(1, len(sizes)))
    return peaks


def kept_labels(
    sizes: np.ndarray, min_pixels: int, peaks: np.ndarray | None = None, min_peak: float = 0.0
) -> np.ndarray:
    """Which labels stay: at least ``min_pixels`` pixels and, given ``peaks``, a peak of ``min_peak``."""
    keep = sizes >= min_pixels
    if peaks is not None and min_peak > 0:
        keep &= peaks >= min_peak
    keep[0] = False
    return keep


def keep_components(
    labels: np.ndarray,
    sizes: np.ndarray,
    min_pixels: int,
    peaks: np.ndarray | None = None,
    min_peak: float = 0.0,
) -> np.ndarray:
    """The mask of the components ``kept_labels`` keeps."""
    return kept_labels(sizes, min_pixels, peaks, min_peak)[labels]


def postprocess(
    probability: np.ndarray, threshold: float, min_component_pixels: int = 0, min_component_peak: float = 0.0
) -> np.ndarray:
    """Boolean mask of a 2D probability map (see the module docstring)."""
    probability = np.asarray(probability)
    mask = probability >= threshold
    by_peak = min_component_peak > threshold
    if (min_component_pixels <= 1 and not by_peak) or not mask.any():
        return mask
    labels, sizes = label_components(mask)
    peaks = component_peaks(probability, labels, sizes) if by_peak else None
    return keep_components(labels, sizes, min_component_pixels, peaks, min_component_peak)


def postprocess_volume(mask: np.ndarray, min_component_voxels: int = 0) -> np.ndarray:
    """A volume's stacked slice masks after dropping 3D components (26-connected, as lesions are counted)
    smaller than ``min_component_voxels``: the volume-level step the calibration may choose."""
    if min_component_voxels <= 1 or not mask.any():
        return mask
    labels, n = ndimage.label(mask, structure=FULL_3D)
    return keep_components(labels, np.bincount(labels.ravel(), minlength=n + 1), min_component_voxels)


def postprocess_stack(
    probabilities: np.ndarray,
    threshold: float,
    min_component_pixels: int = 0,
    min_component_peak: float = 0.0,
    volume_peak: bool = False,
    min_component_voxels: int = 0,
) -> np.ndarray:
    """Boolean mask of a volume's slice probabilities, slices first: every rule of a model card.

    With ``volume_peak`` a slice's component stays when the 3D lesion it belongs to reaches ``min_component_peak``
    on any slice; the smallest-size rule still counts each slice's own pixels, as for single slices. On one slice
    both peak rules agree.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 3:
        raise ValueError(f"expected slices x height x width probabilities, got shape {probabilities.shape}")
    peak_on_slice = 0.0 if volume_peak else min_component_peak
    mask = np.stack([postprocess(p, threshold, min_component_pixels, peak_on_slice) for p in probabilities])
    if volume_peak and min_component_peak > threshold and mask.any():
        labels, n = ndimage.label(probabilities >= threshold, structure=FULL_3D)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        mask &= keep_components(labels, sizes, 0, component_peaks(probabilities, labels, sizes), min_component_peak)
    return postprocess_volume(mask, min_component_voxels)
