"""8-bit views of volumes for the viewer: one window for the whole volume, so slices are comparable."""

from __future__ import annotations

import numpy as np

from brainmets.volumes.orientation import axial_slice
from services.core.pngs import encode_png

# The window's percentiles come from about this many voxels, taken evenly: a 512 x 512 x 200 study would
# otherwise sort a 200 MB copy of itself. Volumes this size or smaller use every voxel.
WINDOW_SAMPLE = 4 * 1024 * 1024
SLAB = 16  # slices windowed at a time, so the float temporaries stay a slab's size


def display_window(canonical: np.ndarray) -> tuple[float, float] | None:
    """The 0.5th and 99.5th percentiles of the non-background voxels, or ``None`` for a blank volume."""
    if not canonical.size:
        return None
    # A strided view, evenly along every axis, and never a copy of the whole (``canonical`` may be a view).
    step = max(1, int(np.ceil((canonical.size / WINDOW_SAMPLE) ** (1 / 3))))
    sample = np.asarray(canonical[::step, ::step, ::step], dtype=np.float32).ravel()
    foreground = sample[sample > float(np.min(canonical))]
    if not foreground.size:
        return None
    lo, hi = (float(v) for v in np.percentile(foreground, (0.5, 99.5)))
    return lo, max(hi, lo + 1.0)


def display_volume(canonical: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """The volume as uint8 under ``window`` (default: ``display_window``, the same for every slice)."""
    window = window or display_window(canonical)
    out = np.zeros(canonical.shape, np.uint8)
    if window is None:
        return out
    lo, hi = window
    scale = 255.0 / (hi - lo)
    for k in range(0, canonical.shape[2], SLAB):
        slab = np.asarray(canonical[:, :, k : k + SLAB], dtype=np.float32)
        out[:, :, k : k + SLAB] = np.clip(np.rint((slab - lo) * scale), 0, 255)
    return out


def slice_png(canonical: np.ndarray, k: int) -> bytes:
    """Axial slice ``k`` of a canonical uint8 or boolean volume (masks as 0/255)."""
    plane = axial_slice(canonical, k)
    if plane.dtype == bool:
        plane = np.where(plane, 255, 0).astype(np.uint8)
    return encode_png(np.ascontiguousarray(plane))
