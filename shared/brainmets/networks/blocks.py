"""Building blocks shared by both networks: the double convolution, up-sampling and the attention gate."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Norm = Literal["batch", "instance", "group"]


def make_norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    raise ValueError(f"unknown norm {kind!r}; choose 'batch', 'instance' or 'group'")


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by normalisation and ReLU (the U-Net unit)."""

    def __init__(self, in_channels: int, out_channels: int, norm: Norm = "batch", dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        layers += [
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        ]
        super().__init__(*layers)


def upsample_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear up-sampling of ``x`` to the spatial size of ``like``."""
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class AttentionGate(nn.Module):
    """Additive attention gate of Oktay et al. (2018), "Attention U-Net", section 2.

    The skip features ``x`` are projected with a stride-2 convolution to the grid of the coarser gating signal
    ``g``; the sum of both projections passes a ReLU, a 1x1 convolution and a sigmoid, giving coefficients
    ``alpha`` in [0, 1] that are up-sampled back to ``x`` and scale it.

    Args:
        skip_channels: channels of ``x`` (the encoder skip connection).
        gate_channels: channels of ``g`` (the coarser decoder features).
        inter_channels: channels of the joint projection; defaults to ``skip_channels // 2``.
    """

    def __init__(
        self, skip_channels: int, gate_channels: int, inter_channels: int | None = None, norm: Norm = "batch"
    ) -> None:
        super().__init__()
        inter = inter_channels or max(1, skip_channels // 2)
        self.theta_x = nn.Conv2d(skip_channels, inter, kernel_size=2, stride=2, bias=False)
        self.phi_g = nn.Conv2d(gate_channels, inter, kernel_size=1, bias=True)
        self.psi = nn.Conv2d(inter, 1, kernel_size=1, bias=True)
        self.out = nn.Sequential(nn.Conv2d(skip_channels, skip_channels, 1, bias=False), make_norm(norm, skip_channels))

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.theta_x(x)
        phi = self.phi_g(g)
        if phi.shape[-2:] != theta.shape[-2:]:
            phi = upsample_to(phi, theta)
        alpha = torch.sigmoid(self.psi(F.relu(theta + phi)))
        alpha = upsample_to(alpha, x)
        return self.out(alpha * x), alpha
