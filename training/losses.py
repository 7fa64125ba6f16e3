"""Losses: soft Dice (as the brief asks), Dice + BCE, the deep-supervision weighting of several heads, and the
pixel weights that make small lesions count in BCE."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from brainmets.inference.postprocess import EIGHT_CONNECTED

# Components are counted in each slice as the post-processing counts them; slices of a batch never join.
_IN_PLANE = np.pad(EIGHT_CONNECTED[None], ((1, 1), (0, 0), (0, 0)))
# The report's boundary between medium and large lesions (pixels on a native 256 x 256 slice).
LARGE_LESION_PIXELS = 1000


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice over the whole batch ("batch Dice"): empty slices do not each count as a perfect or a
    failed case, which keeps the gradient stable when most slices hold no lesion."""
    probs = torch.sigmoid(logits.float())
    target = target.float()
    intersection = (probs * target).sum()
    return 1.0 - (2.0 * intersection + smooth) / (probs.sum() + target.sum() + smooth)


def dice_bce_loss(
    logits: torch.Tensor, target: torch.Tensor, pixel_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Soft Dice plus pixel-wise binary cross-entropy (nnU-Net's default pairing): Dice handles the imbalance,
    BCE gives every pixel a well-scaled gradient, which calibrates the probabilities the threshold acts on.
    ``pixel_weights`` (shaped like ``target``) scale each pixel's BCE term; the mean stays over pixels."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), target.float(), weight=pixel_weights)
    return soft_dice_loss(logits, target) + bce


def small_lesion_weights(target: torch.Tensor, boost: float) -> torch.Tensor | None:
    """BCE weights that raise each small lesion towards a large one's say: a lesion pixel weighs
    ``min(boost, LARGE_LESION_PIXELS / its component's area)``, at least 1; every other pixel 1.

    Soft Dice and plain BCE both count pixels, so a 150-pixel satellite beside a 3,000-pixel lesion moves the loss
    by a twentieth of its neighbour and the network can learn to ignore it; metastases are often that small.
    ``None`` where ``boost`` is 1 (off) or the batch holds no lesion.
    """
    if boost <= 1.0:
        return None
    truth = (target.detach().float().cpu().numpy() > 0.5).reshape(-1, *target.shape[-2:])
    if not truth.any():
        return None
    labels, _ = ndimage.label(truth, structure=_IN_PLANE)
    areas = np.bincount(labels.ravel()).astype(np.float32)
    per_label = np.clip(LARGE_LESION_PIXELS / np.maximum(areas, 1.0), 1.0, boost)
    per_label[0] = 1.0
    weights = torch.from_numpy(per_label[labels].reshape(target.shape))
    return weights.to(device=target.device, dtype=torch.float32)


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
    name: str,
    outputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    weights: Sequence[float] | None = None,
    pixel_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weighted loss over all outputs (one for plain training, every head for deep supervision; equal weights
    unless given). ``pixel_weights`` (see ``small_lesion_weights``) apply to the BCE term of ``dice_bce``."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    if pixel_weights is not None and name != "dice_bce":
        raise ValueError(f"pixel weights need the dice_bce loss, not {name!r}")
    weights = list(weights) if weights is not None else head_weights(len(outputs))
    if len(weights) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs but {len(weights)} weights")
    extra = {} if pixel_weights is None else {"pixel_weights": pixel_weights}
    return sum(w * fn(o, target, **extra) for w, o in zip(weights, outputs, strict=True))  # type: ignore[return-value]
