"""Batch augmentation on tensors (runs on the training device).

Geometric transforms (rotation, zoom, flips) are one affine grid per sample applied to image and mask alike,
so they stay aligned by construction. Intensity transforms (gamma, contrast/brightness, noise) touch the
image only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel


class AugmentConfig(BaseModel):
    rotation_deg: float = 15.0
    zoom: tuple[float, float] = (0.9, 1.15)
    flip_horizontal: float = 0.5
    flip_vertical: float = 0.0
    gamma: tuple[float, float] = (0.8, 1.25)
    contrast: tuple[float, float] = (0.85, 1.15)
    brightness: float = 0.1
    noise_std: float = 0.05
    probability: float = 0.8


def _uniform(n: int, lo: float, hi: float, device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, device=device, generator=gen) * (hi - lo) + lo


def affine_matrices(
    n: int, cfg: AugmentConfig, device: torch.device, gen: torch.Generator | None = None
) -> torch.Tensor:
    """Random ``(n, 2, 3)`` affine matrices in normalised coordinates; identity where not applied."""
    apply = torch.rand(n, device=device, generator=gen) < cfg.probability
    angle = _uniform(n, -cfg.rotation_deg, cfg.rotation_deg, device, gen) * math.pi / 180 * apply
    zoom = torch.where(apply, _uniform(n, *cfg.zoom, device, gen), torch.ones(n, device=device))
    sx = torch.where(torch.rand(n, device=device, generator=gen) < cfg.flip_horizontal, -1.0, 1.0)
    sy = torch.where(torch.rand(n, device=device, generator=gen) < cfg.flip_vertical, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin * sy
    theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos * sy
    return theta


def apply_geometry(images: torch.Tensor, masks: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp images (bilinear, border replicated) and masks (bilinear then re-binarised) with one grid."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped_masks = F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped, (warped_masks > 0.5).to(masks.dtype)


def apply_intensity(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None) -> torch.Tensor:
    """Gamma on the per-image [0, 1] range, then contrast, brightness and Gaussian noise (z-scored units)."""
    n, device = images.shape[0], images.device
    shape = (n, 1, 1, 1)
    lo = images.amin(dim=(1, 2, 3), keepdim=True)
    hi = images.amax(dim=(1, 2, 3), keepdim=True)
    span = (hi - lo).clamp_min(1e-6)
    gamma = _uniform(n, *cfg.gamma, device, gen).view(shape)
    out = ((images - lo) / span).clamp(0, 1).pow(gamma) * span + lo
    out = out * _uniform(n, *cfg.contrast, device, gen).view(shape)
    out = out + _uniform(n, -cfg.brightness, cfg.brightness, device, gen).view(shape)
    noise = torch.randn(out.shape, device=device, generator=gen) * cfg.noise_std
    return out + noise


def augment_batch(
    images: torch.Tensor, masks: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    theta = affine_matrices(images.shape[0], cfg, images.device, gen)
    images, masks = apply_geometry(images, masks, theta)
    return apply_intensity(images, cfg, gen), masks
