"""8-bit views of volumes for the viewer: one window for the whole volume, so slices are comparable."""

from __future__ import annotations

import numpy as np

from brainmets.volumes.orientation import axial_slice
from services.core.pngs import encode_png


def display_volume(canonical: np.ndarray) -> np.ndarray:
    """The volume as uint8, windowed to the 0.5th-99.5th percentiles of its non-background voxels."""
    data = np.asarray(canonical, dtype=np.float32)
    foreground = data[data > data.min()] if data.size else data
    if not foreground.size:
        return np.zeros(data.shape, np.uint8)
    lo, hi = (float(v) for v in np.percentile(foreground, (0.5, 99.5)))
    if hi <= lo:
        hi = lo + 1.0
    return np.clip(np.rint((data - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)


def slice_png(canonical: np.ndarray, k: int) -> bytes:
    """Axial slice ``k`` of a canonical uint8 or boolean volume (masks as 0/255)."""
    plane = axial_slice(canonical, k)
    if plane.dtype == bool:
        plane = np.where(plane, 255, 0).astype(np.uint8)
    return encode_png(np.ascontiguousarray(plane))
