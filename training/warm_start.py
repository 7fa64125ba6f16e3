"""Warm starts across input layouts: a 2D network's weights as the start of its 2.5D twin.

A 2.5D network differs from its 2D twin only in the input convolution, which reads ``2k + 1`` channels instead
of one. Giving the middle channel (the slice itself, see ``brainmets.imaging.neighbours``) the 2D kernel and
the neighbours zero kernels makes the 2.5D network compute exactly what the 2D one did, so fine-tuning starts
from the trained model's accuracy and only has to learn what the neighbours add. The neighbours' gradients are
not zero (their inputs are not), so they do learn.
"""

from __future__ import annotations

import torch


def inflate_input_channels(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``source`` (a single-channel network's state) shaped as ``target`` (the same network with ``2k + 1``
    input channels): every tensor is copied, except input kernels ``(out, 1, kh, kw)`` whose twin in ``target``
    has more input channels; those go to the middle channel, the others start at zero."""
    if source.keys() != target.keys():
        missing, extra = sorted(target.keys() - source.keys()), sorted(source.keys() - target.keys())
        raise ValueError(f"not the same network: missing {missing[:3]}, unexpected {extra[:3]}")
    inflated: dict[str, torch.Tensor] = {}
    for name, weight in source.items():
        want = target[name].shape
        if weight.shape == want:
            inflated[name] = weight
            continue
        kernel_2d = weight.dim() == 4 and weight.shape[1] == 1
        if not kernel_2d or want[1] % 2 != 1 or (want[0], *want[2:]) != (weight.shape[0], *weight.shape[2:]):
            raise ValueError(f"{name}: {tuple(weight.shape)} cannot start a {tuple(want)} kernel")
        kernel = torch.zeros(want, dtype=weight.dtype, device=weight.device)
        kernel[:, want[1] // 2] = weight[:, 0]
        inflated[name] = kernel
    return inflated


# The training-only heads of a deeply supervised Attention U-Net: prediction never reads them.
SIDE_HEADS = "side_heads."


def match_side_heads(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``source`` with the deep-supervision heads that ``target`` lacks dropped and those it has but ``source``
    lacks taken from ``target`` (their fresh initialisation), so that a network trained with or without deep
    supervision starts a stage trained the other way. Returns the state and the names that changed."""
    dropped = [k for k in source if k.startswith(SIDE_HEADS) and k not in target]
    added = [k for k in target if k.startswith(SIDE_HEADS) and k not in source]
    matched = {k: v for k, v in source.items() if k not in dropped}
    matched.update({k: target[k] for k in added})
    return matched, dropped + added
