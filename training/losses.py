"""Losses: soft Dice (as the brief asks), Dice + BCE, and the deep-supervision weighting of several heads."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice over the whole batch ("batch Dice"): empty slices do not each count as a perfect or a
    failed case, which keeps the gradient stable when most slices hold no lesion."""
    probs = torch.sigmoid(logits.float())
    target = target.float()
    intersection = (probs * target).sum()
    return 1.0 - (2.0 * intersection + smooth) / (probs.sum() + target.sum() + smooth)


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft Dice plus pixel-wise binary cross-entropy (nnU-Net's default pairing): Dice handles the imbalance,
    BCE gives every pixel a well-scaled gradient, which calibrates the probabilities the threshold acts on."""
    return soft_dice_loss(logits, target) + F.binary_cross_entropy_with_logits(logits.float(), target.float())


LOSSES = {"dice": soft_dice_loss, "dice_bce": dice_bce_loss}
DEEP_SUPERVISION_WEIGHTS = ("equal", "halving")


def head_weights(count: int, scheme: str = "equal") -> list[float]:
    """Weights of ``count`` outputs ordered from the shallowest head to the final one, summing to 1.

    ``equal``: the U-Net++ paper's average of every head. ``halving``: each head counts half as much as the next
    deeper one, as nnU-Net weights its resolutions, so the final head dominates.
    """
    if scheme == "equal":
        raw = [1.0] * count
    elif scheme == "halving":
        raw = [0.5 ** (count - 1 - k) for k in range(count)]
    else:
        raise KeyError(
            f"unknown deep-supervision weights {scheme!r}; choose one of {', '.join(DEEP_SUPERVISION_WEIGHTS)}"
        )
    total = sum(raw)
    return [w / total for w in raw]


def segmentation_loss(
    name: str, outputs: Sequence[torch.Tensor], target: torch.Tensor, weights: Sequence[float] | None = None
) -> torch.Tensor:
    """Weighted loss over all outputs (one for plain training, every head for deep supervision; equal weights
    unless given)."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    weights = list(weights) if weights is not None else head_weights(len(outputs))
    if len(weights) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs but {len(weights)} weights")
    return sum(w * fn(o, target) for w, o in zip(weights, outputs, strict=True))  # type: ignore[return-value]
