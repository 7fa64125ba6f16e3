"""Synthetic brain-like MRI slices for tests: an elliptical head with a bright elliptical lesion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


def ellipse(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - center[0]) / radii[0]) ** 2 + ((xx - center[1]) / radii[1]) ** 2 <= 1.0


def make_slice(rng: np.random.Generator, size: int = 64, lesion: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """An 8-bit slice and its boolean lesion mask."""
    shape = (size, size)
    head = ellipse(shape, (size / 2, size / 2), (size * 0.42, size * 0.36))
    image = np.zeros(shape, np.float32)
    image[head] = 90 + rng.normal(0, 6, int(head.sum()))
    mask = np.zeros(shape, bool)
    if lesion:
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        mask = ellipse(shape, (cy, cx), tuple(rng.uniform(size * 0.06, size * 0.14, 2))) & head
        image[mask] = 200 + rng.normal(0, 8, int(mask.sum()))
    return np.clip(image, 0, 255).astype(np.uint8), mask


def write_dataset(
    root: Path, patients: int = 6, slices: int = 8, size: int = 64, fmt: str = "png", seed: int = 0
) -> list[str]:
    """Patient folders in the public layout; ``fmt="tif"`` writes 3-channel (pre, FLAIR, post) TIFFs."""
    rng = np.random.default_rng(seed)
    ids = []
    for p in range(patients):
        case = f"TEST_{fmt.upper()}_{p:04d}_20000101"
        folder = root / case
        folder.mkdir(parents=True)
        for n in range(1, slices + 1):
            image, mask = make_slice(rng, size, lesion=n % 3 != 0)
            if fmt == "tif":
                # FLAIR in channel 1; the other sequences differ so that a wrong channel pick shows.
                stack = np.stack([image // 2, image, 255 - image], axis=-1)
                tifffile.imwrite(folder / f"{case}_{n}.tif", stack, photometric="rgb")
                tifffile.imwrite(folder / f"{case}_{n}_mask.tif", (mask * 255).astype(np.uint8))
            else:
                Image.fromarray(image).save(folder / f"{case}_{n}.{fmt}")
                Image.fromarray((mask * 255).astype(np.uint8)).save(folder / f"{case}_{n}_mask.png")
        ids.append(case)
    return ids
