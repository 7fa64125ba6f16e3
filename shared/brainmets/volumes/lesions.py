"""The lesion list and the 3D figures of a predicted volume, in canonical orientation and millimetres.

Lesions are 3D connected components (full 26-connectivity, as ``brainmets.metrics`` counts lesions). The longest
axial diameter is RANO-BM's measure (10 mm or more is measurable): the largest distance between two pixel
corners of the lesion within one axial slice, so a one-pixel lesion measures its pixel's diagonal.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from brainmets.metrics import hd95, lesion_counts, overlap_metrics

FULL_3D = np.ones((3, 3, 3), bool)
_CORNERS = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])


def axial_diameter_mm(plane: np.ndarray, spacing: tuple[float, float]) -> float:
    """The longest distance across a 2D mask ``(x, y)`` in millimetres, corner to corner."""
    points = np.argwhere(plane).astype(np.float64)
    if not len(points):
        return 0.0
    corners = (points[:, None, :] + _CORNERS[None]).reshape(-1, 2) * np.asarray(spacing)
    # The hull is only a speed-up; pixel corners are never all collinear.
    with suppress(QhullError, ValueError):
        corners = corners[ConvexHull(corners).vertices]
    return float(pdist(corners).max())


def lesion_list(mask: np.ndarray, affine: np.ndarray) -> list[dict[str, Any]]:
    """Lesions of a canonical mask ``(x, y, z)`` with its affine, largest first, ids from 1."""
    labels, count = ndimage.label(mask, structure=FULL_3D)
    if count == 0:
        return []
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    voxel_ml = abs(float(np.linalg.det(affine[:3, :3]))) / 1000.0
    found = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        component = labels[box] == index
        offset = np.array([s.start for s in box], dtype=np.float64)
        per_slice = component.sum(axis=(0, 1))
        slices = np.nonzero(per_slice)[0]
        centroid_voxel = np.argwhere(component).mean(axis=0) + offset
        centroid_mm = affine @ np.append(centroid_voxel, 1.0)
        diameter = max(axial_diameter_mm(component[:, :, z], (spacing[0], spacing[1])) for z in slices)
        largest = int(np.argmax(per_slice))
        # Where the viewer centres the lesion: its centre on its largest slice, in that slice image's pixels
        # (orientation.axial_slice: column = X - 1 - x, row = Y - 1 - y).
        cx, cy = np.argwhere(component[:, :, largest]).mean(axis=0) + offset[:2]
        centre_px = [round(float(mask.shape[0] - 1 - cx), 1), round(float(mask.shape[1] - 1 - cy), 1)]
        found.append(
            {
                "volume_ml": round(int(component.sum()) * voxel_ml, 4),
                "max_diameter_mm": round(diameter, 2),
                "slices": [int(slices[0] + offset[2]), int(slices[-1] + offset[2])],
                "largest_slice": int(largest + offset[2]),
                "centre_px": centre_px,
                "centroid_mm": [round(float(v), 2) for v in centroid_mm[:3]],
            }
        )
    found.sort(key=lambda lesion: -lesion["volume_ml"])
    return [{"id": i, **lesion} for i, lesion in enumerate(found, start=1)]


def volume_metrics(pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, ...]) -> dict[str, float | None]:
    """3D Dice, IoU, precision, recall and F1 plus HD95 in millimetres (``None`` when a mask is empty)."""
    metrics: dict[str, float | None] = {k: float(v) for k, v in overlap_metrics(pred, truth).items()}
    distance = hd95(pred, truth, spacing=tuple(float(s) for s in spacing))
    metrics["hd95_mm"] = None if distance is None else round(distance, 3)
    return metrics


def detection(pred: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    """Lesion-wise detection: true lesions, how many were detected, predicted lesions that touch none."""
    counts = lesion_counts(pred, truth)
    return {
        "true_lesions": counts.true_lesions,
        "detected_lesions": counts.detected_lesions,
        "predicted_lesions": counts.predicted_lesions,
        "false_positive_lesions": counts.false_positive_lesions,
    }
