"""Internal padding so that any input size passes the encoder's poolings."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two dimensions at the bottom/right up to a multiple; returns the original size."""
    if x.ndim != 4:
        raise ValueError(f"expected a batch of images shaped (B, C, H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        # Replicate the border: zero would be a real intensity after z-scoring.
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x[..., : size[0], : size[1]]
