"""U-Net++ (Nested U-Net) of Zhou et al., 2018."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from brainmets.networks.blocks import ConvBlock, Norm, upsample_to
from brainmets.networks.padding import crop_to, pad_to_multiple

InferenceHead = Literal["last", "mean"]


class UNetPlusPlus(nn.Module):
    """U-Net++: an encoder-decoder whose skip connections are nested, dense convolution pathways.

    Zhou Z, Rahman Siddiquee MM, Tajbakhsh N, Liang J. "UNet++: A Nested U-Net Architecture for Medical Image
    Segmentation." DLMIA 2018. Node ``X(i, j)`` (``self.nodes[f"x_{i}_{j}"]``) sits at depth ``i`` and column
    ``j``: ``X(i, 0)`` is the encoder, and for ``j >= 1``
    ``X(i, j) = H([X(i, 0), ..., X(i, j-1), Up(X(i+1, j-1))])`` with ``H`` two 3x3 convolutions.
    A 1x1 head on every ``X(0, j)``, ``j = 1..depth``, gives deep supervision.

    Args:
        in_channels: image channels (1 for a FLAIR slice).
        out_channels: output channels (1: lesion logit).
        widths: channels per depth, ``len(widths) - 1`` down-samplings.
        deep_supervision: train every head (see ``forward_deep_supervision``).
        inference_head: ``"last"`` uses ``X(0, depth)``'s head, ``"mean"`` averages all heads' logits.
        norm: ``"batch"``, ``"instance"`` or ``"group"``.

    Shapes: input ``(B, in_channels, H, W)`` of any ``H, W``; it is padded internally to a multiple of
    ``2 ** (len(widths) - 1)`` and the output ``(B, out_channels, H, W)`` is cropped back.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256, 512),
        deep_supervision: bool = True,
        inference_head: InferenceHead = "last",
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"widths needs at least two levels, got {list(widths)}")
        if inference_head not in ("last", "mean"):
            raise ValueError(f"inference_head must be 'last' or 'mean', got {inference_head!r}")
        self.widths = tuple(int(w) for w in widths)
        self.depth = len(self.widths) - 1
        self.deep_supervision = deep_supervision
        self.inference_head: InferenceHead = inference_head
        self.pool = nn.MaxPool2d(2)
        nodes: dict[str, nn.Module] = {}
        for i, width in enumerate(self.widths):
            nodes[f"x_{i}_0"] = ConvBlock(in_channels if i == 0 else self.widths[i - 1], width, norm)
        for j in range(1, self.depth + 1):
            for i in range(self.depth - j + 1):
                # j same-depth predecessors plus the up-sampled node below.
                nodes[f"x_{i}_{j}"] = ConvBlock(self.widths[i] * j + self.widths[i + 1], self.widths[i], norm)
        self.nodes = nn.ModuleDict(nodes)
        self.heads = nn.ModuleList(nn.Conv2d(self.widths[0], out_channels, 1) for _ in range(self.depth))

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def _top_row(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features ``X(0, 1..depth)`` of a padded input."""
        grid: dict[tuple[int, int], torch.Tensor] = {}
        for i in range(self.depth + 1):
            inp = x if i == 0 else self.pool(grid[(i - 1, 0)])
            grid[(i, 0)] = self.nodes[f"x_{i}_0"](inp)
            # Fill the anti-diagonal that the new encoder node completes: X(i-1, 1), X(i-2, 2), ..., X(0, i).
            for j in range(1, i + 1):
                row = i - j
                below = grid[(row + 1, j - 1)]
                same = [grid[(row, k)] for k in range(j)]
                grid[(row, j)] = self.nodes[f"x_{row}_{j}"](torch.cat([*same, upsample_to(below, same[0])], 1))
        return [grid[(0, j)] for j in range(1, self.depth + 1)]

    def forward_deep_supervision(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every head, from ``X(0, 1)`` to ``X(0, depth)``, each ``(B, out_channels, H, W)``."""
        padded, size = pad_to_multiple(x, self.size_multiple)
        return [crop_to(head(f), size) for head, f in zip(self.heads, self._top_row(padded), strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out_channels, H, W)`` of the inference head (the last, or the mean of all)."""
        padded, size = pad_to_multiple(x, self.size_multiple)
        top = self._top_row(padded)
        if self.inference_head == "last":
            return crop_to(self.heads[-1](top[-1]), size)
        logits = torch.stack([head(f) for head, f in zip(self.heads, top, strict=True)]).mean(0)
        return crop_to(logits, size)
