"""Synthetic slices for service tests: an ellipse "head" with a bright ellipse "lesion"."""

from __future__ import annotations

import io

import numpy as np
import tifffile
from PIL import Image


def head_slice(size: int = 64, seed: int = 0, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """An image (uint8 or uint16) and its lesion mask (bool)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    c = size / 2
    head = ((yy - c) / (0.42 * size)) ** 2 + ((xx - c) / (0.35 * size)) ** 2 <= 1
    ly, lx = c + rng.uniform(-0.15, 0.15) * size, c + rng.uniform(-0.12, 0.12) * size
    r = rng.uniform(0.06, 0.1) * size
    lesion = ((yy - ly) / r) ** 2 + ((xx - lx) / (0.8 * r)) ** 2 <= 1
    top = 255 if bits == 8 else 4000
    image = np.where(head, 0.35 * top, 0.0) + np.where(lesion, 0.5 * top, 0.0)
    image = image + rng.normal(0, 0.02 * top, image.shape)
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.clip(image, 0, top).astype(dtype), lesion


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG") if mode else Image.fromarray(array).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def mask_bytes(mask: np.ndarray) -> bytes:
    return png_bytes(np.where(mask, 255, 0).astype(np.uint8))


def tiff_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array)
    return buffer.getvalue()


def upload_files(seed: int = 0, size: int = 64, with_truth: bool = True) -> dict[str, tuple[str, bytes, str]]:
    image, mask = head_slice(size, seed)
    files = {"image": (f"slice-{seed}.png", png_bytes(image), "image/png")}
    if with_truth:
        files["ground_truth"] = (f"mask-{seed}.png", mask_bytes(mask), "image/png")
    return files
