"""The small-lesion weights of the BCE term: what a small lesion weighs, and that a missed one then costs more."""

from __future__ import annotations

import pytest
import torch

from training.losses import LARGE_LESION_PIXELS, segmentation_loss, small_lesion_weights


def two_lesions() -> torch.Tensor:
    """A large lesion (40 x 50 = 2,000 px) and a 10 x 10 satellite on one slice, a 4 x 5 lesion on another."""
    target = torch.zeros(2, 1, 128, 128)
    target[0, 0, 10:50, 10:60] = 1
    target[0, 0, 80:90, 80:90] = 1
    target[1, 0, 0:4, 0:5] = 1
    return target


def test_a_lesion_pixel_weighs_the_large_lesion_size_over_its_area_within_the_boost() -> None:
    weights = small_lesion_weights(two_lesions(), boost=20.0)
    assert weights is not None and weights.shape == (2, 1, 128, 128)
    assert weights[0, 0, 20, 20] == 1.0  # larger than LARGE_LESION_PIXELS: no boost
    assert weights[0, 0, 85, 85] == pytest.approx(LARGE_LESION_PIXELS / 100)
    assert weights[1, 0, 2, 2] == 20.0  # 20 px would weigh 50: held at the boost
    assert weights[0, 0, 100, 10] == 1.0 and weights[1, 0, 64, 64] == 1.0  # background


def test_lesions_on_different_slices_of_a_batch_never_join() -> None:
    target = torch.zeros(2, 1, 32, 32)
    target[:, 0, 5:15, 5:15] = 1  # the same 100 px square on both slices: 200 px if joined across the batch
    weights = small_lesion_weights(target, boost=50.0)
    assert weights is not None
    assert torch.all(weights[:, 0, 5:15, 5:15] == LARGE_LESION_PIXELS / 100)


def test_diagonal_neighbours_are_one_lesion_as_the_post_processing_counts_them() -> None:
    target = torch.zeros(1, 1, 32, 32)
    target[0, 0, 0:10, 0:10] = 1
    target[0, 0, 10:20, 10:20] = 1  # touches the first square at a corner only
    weights = small_lesion_weights(target, boost=50.0)
    assert weights is not None and weights[0, 0, 15, 15] == LARGE_LESION_PIXELS / 200


def test_no_weights_when_the_boost_is_off_or_the_batch_holds_no_lesion() -> None:
    assert small_lesion_weights(two_lesions(), boost=1.0) is None
    assert small_lesion_weights(torch.zeros(2, 1, 16, 16), boost=10.0) is None


def test_a_missed_small_lesion_costs_more_and_pulls_its_pixels_harder() -> None:
    target = two_lesions()
    # A network that finds the large lesion and misses both small ones.
    logits = torch.full_like(target, -4.0)
    logits[0, 0, 10:50, 10:60] = 4.0
    plain_logits = logits.clone().requires_grad_(True)
    boosted_logits = logits.clone().requires_grad_(True)
    plain = segmentation_loss("dice_bce", [plain_logits], target)
    boosted = segmentation_loss("dice_bce", [boosted_logits], target, pixel_weights=small_lesion_weights(target, 10.0))
    assert boosted > plain
    plain.backward()
    boosted.backward()
    assert plain_logits.grad is not None and boosted_logits.grad is not None
    ratio = boosted_logits.grad[0, 0, 85, 85] / plain_logits.grad[0, 0, 85, 85]
    assert ratio > 5  # the satellite's pixels: BCE's pull is 10x, soft Dice's is unchanged
    assert boosted_logits.grad[0, 0, 20, 20] == pytest.approx(plain_logits.grad[0, 0, 20, 20].item(), rel=1e-4)


def test_pixel_weights_need_the_bce_term() -> None:
    target = two_lesions()
    with pytest.raises(ValueError, match="dice_bce"):
        segmentation_loss("dice", [torch.zeros_like(target)], target, pixel_weights=torch.ones_like(target))
