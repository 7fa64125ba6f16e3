"""Batch augmentation on tensors (runs on the training device): nnU-Net's set plus random intensity curves.

Geometry: one sampling grid per sample takes a patch of the slice at its native resolution, rotated, scaled,
mirrored and elastically deformed, from the image and the mask alike, so they stay aligned by construction.

Intensity (the image only), in nnU-Net's order: Gaussian noise, Gaussian blur, brightness, contrast, simulated
low resolution, gamma (sometimes on the inverted image); then a smooth multiplicative bias field and a random
intensity curve over the head, monotonic or not, after which the head is standardised again as preprocessing
would. The curves teach the network that a lesion is a region that differs from its surroundings rather than one
fixed grey level, which is what another scanner or another sequence changes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field


class AugmentConfig(BaseModel):
    """Probabilities (``p_*``) and ranges of every transform; ``none()`` switches them all off.

    The defaults are the recipe's, chosen on the validation patients and the held-out institution (see the
    report's ablation): mild geometry and grey-level changes on most patches, and the transforms that imitate
    another scanner or sequence (low resolution, blur, bias field, inverted gamma, intensity curves) on a few.
    nnU-Net's own rates (``nnunet()``) cost validation Dice on the short ablation budget.
    """

    p_rotation: float = 0.8
    rotation_deg: float = 15.0
    p_scale: float = 0.8
    scale: tuple[float, float] = Field(default=(0.85, 1.2), description="zoom factor, > 1 magnifies")
    flip_horizontal: float = 0.5
    flip_vertical: float = 0.0
    p_elastic: float = 0.0
    elastic_px: float = 4.0
    elastic_grid: int = 5
    p_noise: float = 0.5
    noise_std: tuple[float, float] = (0.0, 0.1)
    p_blur: float = 0.1
    blur_sigma: tuple[float, float] = (0.5, 1.0)
    p_brightness: float = 0.8
    brightness: tuple[float, float] = (0.9, 1.1)
    p_contrast: float = 0.8
    contrast: tuple[float, float] = (0.85, 1.15)
    p_low_resolution: float = 0.1
    low_resolution: tuple[float, float] = (0.5, 1.0)
    p_gamma: float = 0.8
    p_gamma_inverted: float = 0.05
    gamma: tuple[float, float] = (0.8, 1.25)
    p_bias_field: float = 0.1
    bias_field: float = Field(default=0.3, description="largest log-amplitude of the field")
    p_curve: float = 0.1
    curve_nonmonotonic: float = Field(default=0.5, description="share of the curves that are not monotonic")
    curve_knots: int = 6
    p_context_dropout: float = Field(
        default=0.1,
        description="2.5D: share of samples whose neighbour channels become the slice itself, as a lone upload",
    )

    @classmethod
    def none(cls) -> AugmentConfig:
        off = {name: 0.0 for name in cls.model_fields if name.startswith("p_")}
        return cls(**off, flip_horizontal=0.0, flip_vertical=0.0)

    @classmethod
    def nnunet(cls) -> AugmentConfig:
        """nnU-Net's rates and ranges for its transforms, with intensity curves on a fifth of the patches."""
        return cls(
            p_rotation=0.5, rotation_deg=30.0, p_scale=0.5, scale=(0.75, 1.3), p_elastic=0.2, p_noise=0.1,
            noise_std=(0.0, 0.3), p_blur=0.2, p_brightness=0.15, brightness=(0.75, 1.25), p_contrast=0.15,
            contrast=(0.75, 1.25), p_low_resolution=0.25, p_gamma=0.3, p_gamma_inverted=0.1, gamma=(0.7, 1.5),
            p_bias_field=0.2, p_curve=0.2,
        )  # fmt: skip

    def intensity_only(self) -> AugmentConfig:
        """This configuration with every geometric transform off."""
        return self.model_copy(
            update={"p_rotation": 0.0, "p_scale": 0.0, "p_elastic": 0.0, "flip_horizontal": 0.0, "flip_vertical": 0.0}
        )


def _uniform(n: int, bounds: tuple[float, float], device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    lo, hi = bounds
    return torch.rand(n, device=device, generator=gen) * (hi - lo) + lo


def _chance(n: int, p: float, device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, device=device, generator=gen) < p


def affine_matrices(
    centres: torch.Tensor, size: int, patch: int, cfg: AugmentConfig, gen: torch.Generator | None = None
) -> torch.Tensor:
    """``(B, 2, 3)`` matrices from a patch's normalised coordinates to the slice's (``align_corners=False``).

    ``centres`` are continuous ``(y, x)`` pixel positions in a ``size`` x ``size`` slice.
    """
    n, device = centres.shape[0], centres.device
    angle = _uniform(n, (-cfg.rotation_deg, cfg.rotation_deg), device, gen) * math.pi / 180
    angle = angle * _chance(n, cfg.p_rotation, device, gen)
    zoom = torch.where(_chance(n, cfg.p_scale, device, gen), _uniform(n, cfg.scale, device, gen), 1.0)
    sx = torch.where(_chance(n, cfg.flip_horizontal, device, gen), -1.0, 1.0)
    sy = torch.where(_chance(n, cfg.flip_vertical, device, gen), -1.0, 1.0)
    extent = patch / size / zoom  # half the patch, in the slice's normalised units
    cos, sin = torch.cos(angle) * extent, torch.sin(angle) * extent
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin * sy
    theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos * sy
    theta[:, 0, 2] = 2 * centres[:, 1] / size - 1
    theta[:, 1, 2] = 2 * centres[:, 0] / size - 1
    return theta


def elastic_offsets(
    n: int, patch: int, size: int, cfg: AugmentConfig, device: torch.device, gen: torch.Generator | None = None
) -> torch.Tensor:
    """Smooth random displacements ``(B, patch, patch, 2)`` in normalised units; zero where not applied."""
    coarse = torch.randn(n, 2, cfg.elastic_grid, cfg.elastic_grid, device=device, generator=gen)
    coarse = coarse * (cfg.elastic_px * 2 / size) * _chance(n, cfg.p_elastic, device, gen).view(n, 1, 1, 1)
    field = F.interpolate(coarse, size=(patch, patch), mode="bicubic", align_corners=True)
    return field.permute(0, 2, 3, 1)


def sample_patches(
    images: torch.Tensor,
    masks: torch.Tensor,
    centres: torch.Tensor,
    patch: int,
    cfg: AugmentConfig,
    gen: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented ``patch`` x ``patch`` views of square slices: images bilinear, masks bilinear re-binarised."""
    n, size = images.shape[0], images.shape[-1]
    theta = affine_matrices(centres.to(images.device), size, patch, cfg, gen)
    grid = F.affine_grid(theta, [n, 1, patch, patch], align_corners=False)
    if cfg.p_elastic > 0:
        grid = grid + elastic_offsets(n, patch, size, cfg, images.device, gen)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out_masks = F.grid_sample(masks.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out, (out_masks > 0.5).to(images.dtype)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of one ``(1, C, H, W)`` image, each channel on its own, borders replicated."""
    k = _gaussian_kernel(sigma).to(image)
    r = (len(k) - 1) // 2
    planes = image.transpose(0, 1)  # channels as a batch: one kernel blurs them all
    out = F.conv2d(F.pad(planes, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1)).transpose(0, 1)


def _ranges(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lo = images.amin(dim=(1, 2, 3), keepdim=True)
    return lo, (images.amax(dim=(1, 2, 3), keepdim=True) - lo).clamp_min(1e-6)


def random_curves(n: int, knots: int, nonmonotonic: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """``(B, knots)`` values of piecewise-linear curves on [0, 1] at equally spaced knots.

    Monotonic curves rise from 0 to 1 with random steps; the others take any value in [0, 1] at every knot.
    """
    device = nonmonotonic.device
    steps = torch.rand(n, knots - 1, device=device, generator=gen) + 0.05
    rising = torch.cat([torch.zeros(n, 1, device=device), steps.cumsum(1) / steps.sum(1, keepdim=True)], 1)
    anything = torch.rand(n, knots, device=device, generator=gen)
    return torch.where(nonmonotonic.view(n, 1), anything, rising)


def apply_curves(values: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Each sample's values in [0, 1] (``(B, ...)``) mapped through its piecewise-linear curve."""
    n, knots = curves.shape
    position = values.clamp(0, 1).flatten(1) * (knots - 1)
    left = position.floor().clamp(max=knots - 2).long()
    frac = position - left
    mapped = curves.gather(1, left) * (1 - frac) + curves.gather(1, left + 1) * frac
    return mapped.view_as(values)


def bias_fields(
    n: int, shape: tuple[int, int], amplitude: float, device: torch.device, gen: torch.Generator | None = None
) -> torch.Tensor:
    """Smooth positive multiplicative fields ``(B, 1, H, W)``: the exponential of an up-sampled 3 x 3 grid."""
    coarse = (torch.rand(n, 1, 3, 3, device=device, generator=gen) * 2 - 1) * amplitude
    return torch.exp(F.interpolate(coarse, size=shape, mode="bicubic", align_corners=True))


def _standardise_head(images: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over each sample's head, background at the head's minimum, as preprocessing."""
    weight = head.float()
    count = weight.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1)
    mean = (images * weight).sum(dim=(1, 2, 3), keepdim=True) / count
    std = (((images - mean) ** 2 * weight).sum(dim=(1, 2, 3), keepdim=True) / count).sqrt().clamp_min(1e-6)
    out = (images - mean) / std
    floor = torch.where(head, out, torch.full_like(out, float("inf"))).amin(dim=(1, 2, 3), keepdim=True)
    return torch.where(head, out, torch.minimum(floor, out.amin(dim=(1, 2, 3), keepdim=True)))


def augment_intensity(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None) -> torch.Tensor:
    """Every intensity transform of ``cfg`` on a batch ``(B, 1, H, W)`` of normalised images (see module)."""
    n, device = images.shape[0], images.device
    shape = (n, 1, 1, 1)
    out = images.clone()
    pick = _chance(n, cfg.p_noise, device, gen).view(shape)
    std = _uniform(n, cfg.noise_std, device, gen).view(shape)
    out = out + pick * std * torch.randn(out.shape, device=device, generator=gen)
    blur = _chance(n, cfg.p_blur, device, gen)
    sigmas = _uniform(n, cfg.blur_sigma, device, gen)
    for k in torch.nonzero(blur).flatten().tolist():
        out[k : k + 1] = gaussian_blur(out[k : k + 1], float(sigmas[k]))
    factor = torch.where(_chance(n, cfg.p_brightness, device, gen), _uniform(n, cfg.brightness, device, gen), 1.0)
    out = out * factor.view(shape)
    contrasted = _chance(n, cfg.p_contrast, device, gen)
    contrast = _uniform(n, cfg.contrast, device, gen).view(shape)
    if bool(contrasted.any()):
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        lo, hi = out.amin(dim=(1, 2, 3), keepdim=True), out.amax(dim=(1, 2, 3), keepdim=True)
        out = torch.where(contrasted.view(shape), ((out - mean) * contrast + mean).clamp(lo, hi), out)
    low = _chance(n, cfg.p_low_resolution, device, gen)
    zooms = _uniform(n, cfg.low_resolution, device, gen)
    h, w = out.shape[-2:]
    for k in torch.nonzero(low).flatten().tolist():
        small = (max(1, round(h * float(zooms[k]))), max(1, round(w * float(zooms[k]))))
        coarse = F.interpolate(out[k : k + 1], size=small, mode="nearest-exact")
        out[k : k + 1] = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    out = _gamma(out, cfg, gen)
    return _fields_and_curves(out, cfg, gen)


def _gamma(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None) -> torch.Tensor:
    """Gamma on each image's [0, 1] range; on the inverted image for a share of samples (nnU-Net)."""
    n, device = images.shape[0], images.device
    shape = (n, 1, 1, 1)
    inverted = _chance(n, cfg.p_gamma_inverted, device, gen)
    plain = _chance(n, cfg.p_gamma, device, gen) & ~inverted
    gamma = _uniform(n, cfg.gamma, device, gen)
    if not bool((plain | inverted).any()):
        return images
    lo, span = _ranges(images)
    unit = (images - lo) / span
    flipped = torch.where(inverted.view(shape), 1 - unit, unit)
    powered = flipped.clamp(0, 1).pow(gamma.view(shape))
    out = torch.where(inverted.view(shape), 1 - powered, powered) * span + lo
    return torch.where((plain | inverted).view(shape), out, images)


def _fields_and_curves(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None) -> torch.Tensor:
    n, device = images.shape[0], images.device
    shape = (n, 1, 1, 1)
    biased = _chance(n, cfg.p_bias_field, device, gen)
    curved = _chance(n, cfg.p_curve, device, gen)
    nonmonotonic = _chance(n, cfg.curve_nonmonotonic, device, gen)
    curves = random_curves(n, cfg.curve_knots, nonmonotonic, gen)
    if not bool((biased | curved).any()):
        return images
    lo, span = _ranges(images)
    unit = (images - lo) / span
    head = unit > 0.01  # as preprocessing's head: above 1% of the range
    field = bias_fields(n, tuple(images.shape[-2:]), cfg.bias_field, device, gen)
    unit = torch.where(biased.view(shape), unit * field, unit)
    # Curves act on the head only: air stays dark on every MRI sequence.
    remapped = torch.where(head, apply_curves(unit, curves), unit)
    unit = torch.where(curved.view(shape), remapped, unit)
    out = unit * span + lo
    return torch.where((biased | curved).view(shape), _standardise_head(out, head), out)


def drop_context(images: torch.Tensor, p: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """2.5D input ``(B, C, H, W)``: for a share ``p`` of samples every channel becomes the middle one (the slice
    itself), which is what a slice uploaded on its own gives the network. Single-channel input is returned as is."""
    n, channels = images.shape[:2]
    if channels == 1 or p <= 0:
        return images
    lone = _chance(n, p, images.device, gen).view(n, 1, 1, 1)
    middle = images[:, channels // 2 : channels // 2 + 1].expand_as(images)
    return torch.where(lone, middle, images)


def augment_batch(
    images: torch.Tensor,
    masks: torch.Tensor,
    centres: torch.Tensor,
    patch: int,
    cfg: AugmentConfig,
    gen: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Patches of ``patch`` pixels around ``centres``, geometry then intensity (see the module docstring)."""
    images = drop_context(images, cfg.p_context_dropout, gen)
    images, masks = sample_patches(images, masks, centres, patch, cfg, gen)
    return augment_intensity(images, cfg, gen), masks
