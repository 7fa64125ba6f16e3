"""PNG encodings of what the web app displays: the scan, masks (0/255), probability and attention maps."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue()


def display_png(image: np.ndarray) -> bytes:
    """The slice scaled to 8 bits for display (16-bit scans are min-max scaled; the original is kept)."""
    lo, hi = float(np.min(image)), float(np.max(image))
    scaled = np.zeros(image.shape, np.uint8) if hi <= lo else (image - lo) * (255.0 / (hi - lo))
    return encode_png(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def mask_png(mask: np.ndarray) -> bytes:
    return encode_png(np.where(mask, 255, 0).astype(np.uint8))


def unit_png(values: np.ndarray) -> bytes:
    """A map in [0, 1] (probability, attention coefficients) as an 8-bit PNG."""
    return encode_png(np.clip(np.rint(np.asarray(values, np.float32) * 255.0), 0, 255).astype(np.uint8))
