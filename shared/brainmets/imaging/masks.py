"""The one rule that turns mask pixels into lesion or background, for training, evaluation, the gateway and workers.

Lossless masks (PNG, TIFF, arrays in memory):

- boolean: ``True`` is lesion;
- integer, any bit depth: every non-zero pixel is lesion, so 0/1 label maps (a PNG exported from a NIfTI label
  map), 8-bit 0/255 and 16-bit 0/65535 masks all read the same; an anti-aliased edge counts as lesion;
- floating point: above 0.5 is lesion (a 0/1 float mask, a probability map, or 0/255 stored as float).

Lossy masks (JPEG): compression leaves faint noise in the background and ringing along edges, which the non-zero
rule would turn into lesion, so an integer pixel is lesion above half of its type's range (above 127 for 8 bits).
A JPEG mask must therefore be scaled 0/255; a 0/1 JPEG mask reads as empty (the gateway refuses one).

Colour masks: a pixel is lesion where any colour channel is; an alpha channel is ignored.
"""

from __future__ import annotations

import numpy as np

FLOAT_THRESHOLD = 0.5


def mask_plane(pixels: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) to (H, W): alpha dropped (2 or 4 channels), then the brightest channel per pixel."""
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3:
        raise ValueError(f"expected a 2D mask, got an array shaped {pixels.shape}")
    if pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]
    return pixels.max(axis=-1)


def binarize_mask(pixels: np.ndarray, *, lossy: bool = False) -> np.ndarray:
    """Lesion (``True``) or background for every pixel, by the module's rule; ``lossy`` for JPEG-decoded pixels."""
    plane = mask_plane(np.asarray(pixels))
    if plane.dtype == bool:
        return plane.copy()
    if np.issubdtype(plane.dtype, np.integer):
        if lossy:
            return plane > np.iinfo(plane.dtype).max // 2
        return plane != 0
    if np.issubdtype(plane.dtype, np.floating):
        return plane > FLOAT_THRESHOLD
    raise ValueError(f"a mask of dtype {plane.dtype} cannot be read")
