"""Attention U-Net of Oktay et al., 2018."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from brainmets.networks.blocks import AttentionGate, ConvBlock, Norm, upsample_to
from brainmets.networks.padding import crop_to, pad_to_multiple


class AttentionUNet(nn.Module):
    """U-Net with additive attention gates on every skip connection.

    Oktay O, Schlemper J, Le Folgoc L, et al. "Attention U-Net: Learning Where to Look for the Pancreas."
    MIDL 2018. At each decoder level the encoder features are filtered by an attention gate whose gating
    signal is the coarser decoder level, then concatenated with that level up-sampled by a transposed
    convolution to the skip's width, and convolved.

    Args:
        in_channels: image channels (1 for a FLAIR slice).
        out_channels: output channels (1: lesion logit).
        widths: channels per depth, ``len(widths) - 1`` down-samplings.
        deep_supervision: a 1x1 head on every coarser decoder level as well, for the training loss (the paper's
            deep supervision, after Lee et al. 2015; see ``forward_deep_supervision``). Prediction always uses
            the finest level's head, so the extra heads cost nothing there.
        norm: ``"batch"``, ``"instance"`` or ``"group"``.

    Shapes: input ``(B, in_channels, H, W)`` of any ``H, W`` (padded internally to a multiple of
    ``2 ** (len(widths) - 1)``, output cropped back). ``forward_with_attention`` also returns each gate's
    coefficients, finest first, shaped ``(B, 1, H_i, W_i)`` with values in [0, 1].
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256, 512),
        deep_supervision: bool = False,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"widths needs at least two levels, got {list(widths)}")
        self.widths = tuple(int(w) for w in widths)
        self.depth = len(self.widths) - 1
        self.pool = nn.MaxPool2d(2)
        self.encoder = nn.ModuleList(
            ConvBlock(in_channels if i == 0 else self.widths[i - 1], w, norm) for i, w in enumerate(self.widths)
        )
        # Decoder level i (0 = finest) is gated by level i + 1.
        self.gates = nn.ModuleList(
            AttentionGate(self.widths[i], self.widths[i + 1], norm=norm) for i in range(self.depth)
        )
        # As in the paper's up-sampling path, a transposed convolution doubles the coarser level's resolution and
        # reduces it to the skip's width before the concatenation (inputs are padded, so sizes match exactly).
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(self.widths[i + 1], self.widths[i], kernel_size=2, stride=2) for i in range(self.depth)
        )
        self.decoder = nn.ModuleList(ConvBlock(2 * self.widths[i], self.widths[i], norm) for i in range(self.depth))
        self.head = nn.Conv2d(self.widths[0], out_channels, 1)
        self.deep_supervision = deep_supervision
        # Decoder levels 1..depth-1, finest first; the finest level keeps ``head`` so that weights trained without
        # deep supervision load into the network built for prediction either way.
        side_levels = range(1, self.depth) if deep_supervision else range(0)
        self.side_heads = nn.ModuleList(nn.Conv2d(self.widths[i], out_channels, 1) for i in side_levels)

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def _decode(self, padded: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Every decoder level's features and every gate's coefficients, both finest first, on the padded grid."""
        skips: list[torch.Tensor] = []
        h = padded
        for i, block in enumerate(self.encoder):
            h = block(h if i == 0 else self.pool(h))
            skips.append(h)
        g = skips[-1]
        levels: list[torch.Tensor] = []
        alphas: list[torch.Tensor] = []
        for i in reversed(range(self.depth)):
            gated, alpha = self.gates[i](skips[i], g)
            g = self.decoder[i](torch.cat([gated, self.up[i](g)], 1))
            levels.append(g)
            alphas.append(alpha)
        return levels[::-1], alphas[::-1]

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits ``(B, out_channels, H, W)`` and the attention coefficients of every gate, finest first."""
        padded, size = pad_to_multiple(x, self.size_multiple)
        levels, alphas = self._decode(padded)
        scaled = [crop_to(a, _scaled(size, 2**i)) for i, a in enumerate(alphas)]
        return crop_to(self.head(levels[0]), size), scaled

    def forward_deep_supervision(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every head, coarsest decoder level first and the prediction head last, each up-sampled to
        ``(B, out_channels, H, W)`` (the order of ``UNetPlusPlus.forward_deep_supervision``: the last counts most
        under the trainer's halving weights)."""
        padded, size = pad_to_multiple(x, self.size_multiple)
        levels, _ = self._decode(padded)
        coarser = levels[1:] if self.deep_supervision else []
        side = [upsample_to(head(f), padded) for head, f in zip(self.side_heads, coarser, strict=True)]
        return [crop_to(logits, size) for logits in [*side[::-1], self.head(levels[0])]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out_channels, H, W)``."""
        return self.forward_with_attention(x)[0]

    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Attention coefficients of every gate, finest first."""
        return self.forward_with_attention(x)[1]


def _scaled(size: tuple[int, int], factor: int) -> tuple[int, int]:
    return (-(-size[0] // factor), -(-size[1] // factor))
