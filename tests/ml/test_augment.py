"""Augmentation: patches stay aligned with their masks, lesion patches hold lesion, intensity transforms touch
the image only, and the random intensity curves keep the background dark and the head standardised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainmets.imaging.preprocess import NormalizationConfig, prepare_batch
from tests.synthetic import make_slice
from training.augment import (
    AugmentConfig,
    apply_curves,
    augment_batch,
    augment_intensity,
    random_curves,
    sample_patches,
)
from training.slices import SliceTensors, patch_centres, sample_epoch


def batch(n: int = 8, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(1)
    pairs = [make_slice(rng, size) for _ in range(n)]
    images = prepare_batch([i for i, _ in pairs], (size, size), NormalizationConfig())
    masks = torch.stack([torch.from_numpy(m.astype(np.float32)) for _, m in pairs])[:, None]
    return images, masks


def centres_of(n: int, size: int) -> torch.Tensor:
    return torch.full((n, 2), size / 2)


def test_an_identity_patch_of_the_whole_slice_is_the_slice() -> None:
    images, masks = batch()
    out, out_masks = sample_patches(images, masks, centres_of(8, 64), 64, AugmentConfig.none())
    assert torch.allclose(out, images, atol=1e-4) and torch.equal(out_masks, masks)


def test_a_patch_is_the_slice_cut_at_its_centre() -> None:
    images, masks = batch()
    centres = torch.tensor([[20.0, 40.0]] * 8)  # continuous pixel coordinates: rows 4..35, columns 24..55
    out, out_masks = sample_patches(images, masks, centres, 32, AugmentConfig.none())
    assert torch.allclose(out, images[..., 4:36, 24:56], atol=1e-4)
    assert torch.equal(out_masks, masks[..., 4:36, 24:56])


def test_geometry_moves_image_and_mask_together() -> None:
    _, masks = batch()
    cfg = AugmentConfig(p_rotation=1, p_scale=1, p_elastic=1, flip_vertical=0.5).intensity_only()
    cfg = cfg.model_copy(update={"p_rotation": 1.0, "p_scale": 1.0, "p_elastic": 1.0, "flip_horizontal": 0.5})
    gen = torch.Generator().manual_seed(0)
    warped_as_image, warped_mask = sample_patches(masks.clone(), masks, centres_of(8, 64), 48, cfg, gen)
    assert warped_mask.shape == (8, 1, 48, 48)
    assert torch.equal((warped_as_image > 0.5).float(), warped_mask)


def test_lesion_patches_are_centred_on_lesion_pixels() -> None:
    images, masks = batch(16)
    data = SliceTensors(images, masks, ["p"] * 16)
    gen = torch.Generator().manual_seed(4)
    picks = sample_epoch(data.lesion, 64, 0.5, gen)
    assert int(picks[:, 1].sum()) == 32 and bool(data.lesion[picks[picks[:, 1] == 1, 0]].all())
    centres = patch_centres(data, picks, gen)
    for (index, focus), (y, x) in zip(picks.tolist(), centres.tolist(), strict=True):
        if focus:
            assert masks[index, 0, int(y), int(x)] == 1
        else:
            y0, y1, x0, x1 = data.head_boxes[index].tolist()
            assert y0 <= y <= y1 + 1 and x0 <= x <= x1 + 1


def test_full_augmentation_keeps_lesion_under_bright_pixels() -> None:
    images, masks = batch()
    cfg = AugmentConfig(p_curve=0, p_gamma_inverted=0, p_noise=0)
    gen = torch.Generator().manual_seed(3)
    aug_images, aug_masks = augment_batch(images, masks, centres_of(8, 64), 64, cfg, gen)
    assert aug_images.shape == images.shape and set(aug_masks.unique().tolist()) <= {0.0, 1.0}
    for img, msk in zip(aug_images, aug_masks, strict=True):
        if msk.sum() < 20:
            continue
        assert img[msk > 0].mean() > img[msk == 0].mean() + 0.2  # lesions stay bright where the mask says


def test_intensity_transforms_change_the_image_not_the_mask() -> None:
    images, masks = batch()
    cfg = AugmentConfig(**{name: 1.0 for name in AugmentConfig.model_fields if name.startswith("p_")})
    aug_images, aug_masks = augment_batch(images, masks, centres_of(8, 64), 64, cfg.intensity_only())
    assert torch.equal(aug_masks, masks)
    assert not torch.allclose(aug_images, images) and torch.isfinite(aug_images).all()


def test_no_augmentation_leaves_the_batch_as_it_is() -> None:
    images, _ = batch()
    assert torch.equal(augment_intensity(images, AugmentConfig.none()), images)


@pytest.mark.parametrize("nonmonotonic", [False, True])
def test_intensity_curves_span_the_unit_range(nonmonotonic: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    curves = random_curves(32, 6, torch.full((32,), nonmonotonic), gen)
    values = torch.linspace(0, 1, 101).repeat(32, 1)
    mapped = apply_curves(values, curves)
    assert mapped.min() >= 0 and mapped.max() <= 1 + 1e-6
    rising = (mapped[:, 1:] >= mapped[:, :-1] - 1e-6).all(1)
    if nonmonotonic:
        assert not rising.all()  # some curves fall somewhere: the grey levels swap order
    else:
        assert (
            rising.all()
            and torch.allclose(mapped[:, 0], torch.zeros(32))
            and torch.allclose(mapped[:, -1], torch.ones(32))
        )


def test_curves_keep_air_dark_and_the_head_standardised() -> None:
    images, _ = batch()
    cfg = AugmentConfig.none().model_copy(update={"p_curve": 1.0, "curve_nonmonotonic": 1.0})
    out = augment_intensity(images, cfg, torch.Generator().manual_seed(1))
    for before, after in zip(images, out, strict=True):
        head = before > before.min() + 0.01 * (before.max() - before.min())  # preprocessing's head
        air = ~head
        assert after[air].max() <= after[head].min() + 1e-5  # air stays the darkest
        assert abs(float(after[head].mean())) < 1e-3 and abs(float(after[head].std()) - 1) < 1e-2


def test_lesion_sampling_draws_each_lesion_alike_however_many_slices_it_spans() -> None:
    # Patient "a": a tumour on slices 0-9 and, on slice 9 beside it, a satellite; patient "b": a one-slice lesion.
    masks = torch.zeros(14, 1, 32, 32)
    masks[0:10, 0, 4:14, 4:14] = 1
    masks[9, 0, 24:28, 24:28] = 1
    masks[12, 0, 10:14, 10:14] = 1
    masks[2, 0, 30, 30] = 1  # an annotation speck, not a lesion of its own
    data = SliceTensors(torch.rand(14, 1, 32, 32), masks, ["a"] * 11 + ["b"] * 3)
    assert torch.equal(data.lesion_weights("slices"), data.lesion)
    weights = data.lesion_weights("lesions")
    expected = torch.zeros(14)
    expected[0:10] = 0.1
    expected[9] += 1.0  # the satellite is a lesion of its own, on one slice
    expected[12] = 1.0
    assert torch.allclose(weights, expected)
    picks = sample_epoch(weights, 3000, 1.0, torch.Generator().manual_seed(0))[:, 0]
    # Each of the three lesions is drawn about a third of the time; slice sampling gives the tumour ten elevenths.
    assert abs(float((picks == 12).float().mean()) - 1 / 3) < 0.04
    assert abs(float((picks < 9).float().mean()) - 0.9 / 3) < 0.04
    with pytest.raises(ValueError, match="lesion sampling"):
        data.lesion_weights("pixels")  # type: ignore[arg-type]
