"""Losses: soft Dice (the default, as the brief asks) and Dice + BCE, with a deep-supervision wrapper."""

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
    return soft_dice_loss(logits, target) + F.binary_cross_entropy_with_logits(logits.float(), target.float())


LOSSES = {"dice": soft_dice_loss, "dice_bce": dice_bce_loss}


def segmentation_loss(name: str, outputs: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Mean loss over all outputs (one for plain training, every head for deep supervision)."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    return torch.stack([fn(o, target) for o in outputs]).mean()
