"""Augmentation keeps image and mask aligned and changes intensities only on the image."""

from __future__ import annotations

import numpy as np
import torch

from tests.synthetic import make_slice
from training.augment import AugmentConfig, affine_matrices, apply_geometry, augment_batch


def batch(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(1)
    pairs = [make_slice(rng, 64) for _ in range(n)]
    images = torch.stack([torch.from_numpy(i.astype(np.float32) / 255) for i, _ in pairs])[:, None]
    masks = torch.stack([torch.from_numpy(m.astype(np.float32)) for _, m in pairs])[:, None]
    return images, masks


def test_geometry_moves_image_and_mask_together() -> None:
    _, masks = batch()
    gen = torch.Generator().manual_seed(0)
    theta = affine_matrices(len(masks), AugmentConfig(probability=1.0, flip_vertical=0.5), torch.device("cpu"), gen)
    warped_as_image, warped_mask = apply_geometry(masks.clone(), masks, theta)
    assert not torch.equal(warped_mask, masks)  # something really moved
    assert torch.equal((warped_as_image > 0.5).float(), warped_mask)


def test_full_augmentation_keeps_lesion_under_bright_pixels() -> None:
    images, masks = batch()
    gen = torch.Generator().manual_seed(3)
    cfg = AugmentConfig(probability=1.0, noise_std=0.0)
    aug_images, aug_masks = augment_batch(images, masks, cfg, gen)
    assert aug_images.shape == images.shape and set(aug_masks.unique().tolist()) <= {0.0, 1.0}
    for img, msk in zip(aug_images, aug_masks, strict=True):
        if msk.sum() < 20:
            continue
        inside, outside = img[msk > 0].mean(), img[msk == 0].mean()
        assert inside > outside + 0.2  # lesions stay bright where the mask says


def test_intensity_transform_changes_image_not_mask() -> None:
    images, masks = batch()
    cfg = AugmentConfig(probability=0.0, flip_horizontal=0.0)  # geometry off, intensity on
    aug_images, aug_masks = augment_batch(images, masks, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(aug_masks, masks)
    assert not torch.allclose(aug_images, images)
