"""A patient's scores under a component-removal setting, from each component's counts instead of rebuilt masks.

Calibration tries about a hundred removal settings per threshold on every validation patient. Rebuilding each
setting's masks and labelling them again in 3D took most of its run time, yet a setting only decides which 2D
components stay. So, per patient and threshold, each component's size, peak and overlap with the truth is counted
once, with the true lesions it touches and the components of the neighbouring slices it touches (26-connectivity,
as ``brainmets.metrics.lesion_counts`` counts lesions); every setting is then scored from those counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from brainmets.inference.postprocess import component_peaks, kept_labels, label_components

_SHIFTS = (-1, 0, 1)


def _overlapping(window: int, shift: int) -> tuple[slice, slice]:
    """Slices pairing index i of one axis with index i + shift of the same axis (length ``window``)."""
    if shift > 0:
        return slice(0, window - shift), slice(shift, window)
    if shift < 0:
        return slice(-shift, window), slice(0, window + shift)
    return slice(None), slice(None)


def _unique_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The distinct (first, second) pairs of two non-negative integer arrays, as a (2, k) array."""
    base = int(second.max()) + 1 if second.size else 1
    codes = np.unique(first.astype(np.int64) * base + second)
    return np.stack([codes // base, codes % base])


def _touching(below: np.ndarray, above: np.ndarray) -> np.ndarray:
    """(label below, label above) pairs of two neighbouring slices' labels that touch, diagonals included."""
    firsts, seconds = [], []
    for dy in _SHIFTS:
        ya, yb = _overlapping(below.shape[0], dy)
        for dx in _SHIFTS:
            xa, xb = _overlapping(below.shape[1], dx)
            a, b = below[ya, xa], above[yb, xb]
            both = (a > 0) & (b > 0)
            firsts.append(a[both])
            seconds.append(b[both])
    return _unique_pairs(np.concatenate(firsts), np.concatenate(seconds))


@dataclass(frozen=True)
class PatientComponents:
    """One patient's 2D components at one threshold, numbered across its slices from 0."""

    sizes: np.ndarray
    peaks: np.ndarray
    overlap: np.ndarray  # true-lesion pixels each component covers
    touch_component: np.ndarray  # with touch_lesion: which component touches which true 3D lesion
    touch_lesion: np.ndarray
    edges: np.ndarray  # (2, k): components of neighbouring slices that touch
    truth_pixels: int

    @cached_property
    def lesion_peaks(self) -> np.ndarray:
        """Each component's 3D lesion's peak: the highest peak among the components joined to it across slices."""
        n = len(self.sizes)
        if n == 0:
            return self.peaks
        a, b = self.edges
        graph = coo_matrix((np.ones(a.size, bool), (a, b)), shape=(n, n))
        _, lesion_of = connected_components(graph, directed=False)
        peaks = np.zeros(int(lesion_of.max()) + 1, np.float32)
        np.maximum.at(peaks, lesion_of, self.peaks)
        return peaks[lesion_of]

    @classmethod
    def build(cls, probabilities: list[np.ndarray], lesions: np.ndarray, threshold: float) -> PatientComponents:
        """``lesions``: the patient's true lesions labelled in 3D (slices first)."""
        sizes, peaks, overlap, touches, edges = [], [], [], [], []
        previous: np.ndarray | None = None
        offset = 0
        for probability, truth in zip(probabilities, lesions, strict=True):
            labels, counts = label_components(probability >= threshold)
            n = len(counts) - 1
            numbered = np.where(labels > 0, labels + offset, 0)
            if n:
                sizes.append(counts[1:])
                peaks.append(component_peaks(probability, labels, counts)[1:])
                overlap.append(np.bincount(labels[truth > 0], minlength=n + 1)[1:])
                hit = (labels > 0) & (truth > 0)
                touches.append(_unique_pairs(numbered[hit], truth[hit]))
                if previous is not None and offset:
                    edges.append(_touching(previous, numbered))
            previous = numbered
            offset += n

        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        touch = np.concatenate(touches, axis=1) if touches else np.zeros((2, 0), np.int64)
        return cls(
            sizes=joined(sizes, np.int64),
            peaks=joined(peaks, np.float32),
            overlap=joined(overlap, np.int64),
            touch_component=touch[0] - 1,
            touch_lesion=touch[1],
            edges=(np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), np.int64)) - 1,
            truth_pixels=int(np.count_nonzero(lesions)),
        )

    def kept(self, min_pixels: int, min_peak: float, volume_peak: bool = False) -> np.ndarray:
        """Which components the setting keeps: the workers' rule (``kept_labels``), without the background; with
        ``volume_peak`` the peak is each component's 3D lesion's (``postprocess_stack``)."""
        background = np.zeros(1, self.sizes.dtype)
        peaks = self.lesion_peaks if volume_peak else self.peaks
        return kept_labels(
            np.concatenate([background, self.sizes]), min_pixels, np.concatenate([[0], peaks]), min_peak
        )[1:]

    def dice(self, keep: np.ndarray) -> float:
        """The stacked mask's Dice (1 when both it and the truth are empty, as ``brainmets.metrics``)."""
        predicted = int(self.sizes[keep].sum())
        if predicted + self.truth_pixels == 0:
            return 1.0
        return 2 * int(self.overlap[keep].sum()) / (predicted + self.truth_pixels)

    def detected(self, keep: np.ndarray) -> int:
        """True 3D lesions that a kept component touches."""
        return len(np.unique(self.touch_lesion[keep[self.touch_component]]))

    def false_positive_lesions(self, keep: np.ndarray) -> int:
        """Kept 3D components (kept 2D components joined across slices) that touch no true lesion."""
        if not keep.any():
            return 0
        n = len(self.sizes)
        a, b = self.edges
        joined = keep[a] & keep[b]
        graph = coo_matrix((np.ones(int(joined.sum()), bool), (a[joined], b[joined])), shape=(n, n))
        _, lesion_of = connected_components(graph, directed=False)
        predicted = np.unique(lesion_of[keep])
        matched = np.unique(lesion_of[keep & (self.overlap > 0)])
        return len(predicted) - len(matched)
