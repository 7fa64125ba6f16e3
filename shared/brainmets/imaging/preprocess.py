"""Model-input preprocessing: one definition, used by training, evaluation and the workers alike.

Normalisation is per image, so a single uploaded slice is treated exactly as the same slice inside a volume:
the head is the set of pixels above 1% of the image's intensity range; intensities are clipped to the head's
0.5th-99.5th percentiles and z-scored with the head's mean and standard deviation. Optional CLAHE (contrast
limited adaptive histogram equalisation) runs before normalisation. An image with no head (all one value)
becomes all zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field

HEAD_THRESHOLD_FRACTION = 0.01


class NormalizationConfig(BaseModel):
    """How intensities are normalised; stored in every model card."""

    method: str = "head_percentile_zscore"
    clip_percentiles: tuple[float, float] = (0.5, 99.5)
    clahe: bool = False
    clahe_clip_limit: float = Field(default=0.01, gt=0)


def head_mask(image: np.ndarray) -> np.ndarray:
    lo, hi = float(image.min()), float(image.max())
    return image > lo + HEAD_THRESHOLD_FRACTION * (hi - lo)


def normalize(image: np.ndarray, config: NormalizationConfig | None = None) -> np.ndarray:
    """Normalise one 2D slice to float32 (see the module docstring for the definition)."""
    config = config or NormalizationConfig()
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"normalize expects one 2D slice, got shape {image.shape}")
    if config.clahe:
        image = _clahe(image, config.clahe_clip_limit)
    head = head_mask(image)
    if head.sum() < 16:
        return np.zeros_like(image)
    values = image[head]
    lo, hi = np.percentile(values, config.clip_percentiles)
    clipped = np.clip(image, lo, hi)
    head_values = clipped[head]
    std = float(head_values.std())
    return ((clipped - float(head_values.mean())) / max(std, 1e-6)).astype(np.float32)


def _clahe(image: np.ndarray, clip_limit: float) -> np.ndarray:
    from skimage.exposure import equalize_adapthist

    lo, hi = float(image.min()), float(image.max())
    if hi <= lo:
        return image
    return equalize_adapthist((image - lo) / (hi - lo), clip_limit=clip_limit).astype(np.float32)


def resize_batch(batch: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize ``(B, C, H, W)``; bilinear uses antialiasing when shrinking, nearest is for label maps."""
    if tuple(batch.shape[-2:]) == tuple(size):
        return batch
    if mode == "nearest":
        return F.interpolate(batch, size=size, mode="nearest-exact")
    shrinking = batch.shape[-2] > size[0] or batch.shape[-1] > size[1]
    return F.interpolate(batch, size=size, mode="bilinear", align_corners=False, antialias=shrinking)


def prepare_batch(
    images: Sequence[np.ndarray], size: tuple[int, int], config: NormalizationConfig | None = None
) -> torch.Tensor:
    """Normalise and resize slices of any sizes into one ``(B, 1, *size)`` float32 tensor."""
    tensors = [resize_batch(torch.from_numpy(normalize(image, config))[None, None], size) for image in images]
    return torch.cat(tensors) if tensors else torch.empty(0, 1, *size)
