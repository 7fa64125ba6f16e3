"""2.5D input: each slice with its neighbours above and below as extra channels.

A lesion continues through adjacent slices while most false positives (vessels, the choroid plexus, flow
artefacts) do not, so a network that sees ``context`` slices on each side can tell them apart. The channels are
ordered from the lowest neighbour to the highest, the slice itself in the middle. At a volume's ends, and for a
slice uploaded on its own, the missing neighbours repeat the nearest slice there is (the slice itself for a lone
slice), which the training teaches the networks to expect (``AugmentConfig.p_context_dropout``).
"""

from __future__ import annotations

import torch


def channels_for(context: int) -> int:
    """The networks' input channels for ``context`` neighbours on each side."""
    if context < 0:
        raise ValueError(f"context slices must be 0 or more, got {context}")
    return 2 * context + 1


def neighbour_indices(count: int, context: int) -> torch.Tensor:
    """``(count, 2 * context + 1)`` indices of each of ``count`` consecutive slices' neighbours, clamped at the
    ends."""
    offsets = torch.arange(-context, context + 1)
    return (torch.arange(count).view(-1, 1) + offsets.view(1, -1)).clamp_(0, max(0, count - 1))


def with_neighbours(stack: torch.Tensor, context: int) -> torch.Tensor:
    """A volume's consecutive single-channel slices ``(N, 1, H, W)`` as ``(N, 2 * context + 1, H, W)``."""
    if stack.shape[1] != 1:
        raise ValueError(f"expected single-channel slices (N, 1, H, W), got {tuple(stack.shape)}")
    if context == 0:
        return stack
    return stack[:, 0][neighbour_indices(stack.shape[0], context)]


def alone(stack: torch.Tensor, context: int) -> torch.Tensor:
    """Unrelated slices ``(N, 1, H, W)`` (single uploads) as ``(N, 2 * context + 1, H, W)``: each its own
    neighbour."""
    if context == 0:
        return stack  # 2D models: no copy on the single-upload path
    return stack.expand(-1, channels_for(context), -1, -1).contiguous()
