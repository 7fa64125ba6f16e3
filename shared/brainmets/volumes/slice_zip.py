"""A zip of 2D slices named like the public LGG release (``<case>_<n>.tif``, masks ``<case>_<n>_mask.tif``) as a
volume: slices in file-number order, decoded by the same readers as single-slice uploads.

Such slices carry no geometry, so the volume gets 1 mm isotropic voxels in RAS orientation, built so that slice
``k`` of the volume view is file ``k``-th in number order exactly as uploaded. Masks in the same zip, for every
slice, are its ground truth.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from brainmets.imaging.decode import decode_image, decode_mask
from brainmets.imaging.errors import ImageDecodeError
from brainmets.source import Source, open_source
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.orientation import stack_axial
from brainmets.volumes.volume import Volume, VolumeRejected
from brainmets.volumes.zipsafe import zip_members

_SLICE = re.compile(r"^(?P<case>.+)_(?P<n>\d+)(?P<mask>_mask)?\.(?:tif|tiff|png|jpg|jpeg)$", re.IGNORECASE)
# Pixel limit per slice, as for single-slice uploads' default.
MAX_SLICE_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class SliceStack:
    volume: Volume
    ground_truth: np.ndarray | None  # bool on the volume's grid, when every slice has its mask in the zip


def _names(source: Source) -> list[str]:
    try:
        with zipfile.ZipFile(open_source(source)) as archive:
            return [PurePosixPath(n.replace("\\", "/")).name for n in archive.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def is_slice_zip(source: Source) -> bool:
    """Whether a zip holds slices named like the public release (decided from its directory alone)."""
    return any(_SLICE.match(name) and not _SLICE.match(name)["mask"] for name in _names(source))


def _slice_name(name: str) -> re.Match[str] | None:
    return _SLICE.match(PurePosixPath(name.replace("\\", "/")).name)


def _decoded(
    source: Source, limits: VolumeLimits, masks_wanted: bool
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    images: dict[int, np.ndarray] = {}
    masks: dict[int, np.ndarray] = {}
    cases = set()
    # Other members (a README, a viewer's thumbnails) are skipped unread.
    for name, raw in zip_members(source, limits, keep=lambda name, _head: _slice_name(name) is not None):
        match = _slice_name(name)
        assert match is not None
        is_mask = bool(match["mask"])
        if is_mask and not masks_wanted:
            continue
        cases.add(match["case"])
        n = int(match["n"])
        try:
            if is_mask:
                masks[n] = decode_mask(raw, max_pixels=MAX_SLICE_PIXELS)
            else:
                images[n] = decode_image(raw, max_pixels=MAX_SLICE_PIXELS)
        except ImageDecodeError as exc:
            raise VolumeRejected(422, f"the slice {name[:100]!r} could not be read: {exc}") from None
    if len(cases) > 1:
        raise VolumeRejected(422, f"the zip mixes {len(cases)} cases ({', '.join(sorted(cases)[:3])}); one per scan")
    return images, masks


def _stack(planes: dict[int, np.ndarray], what: str, limits: VolumeLimits) -> np.ndarray:
    numbers = sorted(planes)
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:
        raise VolumeRejected(422, f"the {what} misses slice number(s) {', '.join(map(str, missing[:10]))}")
    shapes = {planes[n].shape for n in numbers}
    if len(shapes) > 1:
        raise VolumeRejected(422, f"the {what} has slices of different sizes: {sorted(shapes)[:3]}")
    if len(numbers) > limits.max_slices:
        raise VolumeRejected(413, f"the {what} has {len(numbers):,} slices; the limit is {limits.max_slices:,}")
    return stack_axial([planes[n] for n in numbers])


def read_slice_zip(source: Source, limits: VolumeLimits) -> SliceStack:
    images, masks = _decoded(source, limits, masks_wanted=True)
    if not images:
        raise VolumeRejected(422, "the zip holds no slices named <case>_<n>.tif|png")
    if len(images) < 2:
        raise VolumeRejected(422, "the zip holds one slice; upload a single slice as PNG/TIFF, or the whole case")
    volume = _stack(images, "zip", limits)
    if volume.size > limits.max_voxels:
        raise VolumeRejected(413, f"the slices hold {volume.size:,} voxels; the limit is {limits.max_voxels:,}")
    truth = None
    if masks and set(masks) == set(images):
        truth = _stack(masks, "zip's masks", limits)
        if truth.shape != volume.shape:
            raise VolumeRejected(422, "the zip's masks are not the size of their slices")
    return SliceStack(Volume(volume.astype(np.float32), np.eye(4)), truth)


def read_slice_masks(source: Source, limits: VolumeLimits, shape: tuple[int, ...]) -> np.ndarray:
    """A zip of slice masks (``<case>_<n>_mask.<ext>``, or named like the slices) as a mask on a slice volume."""
    images, masks = _decoded(source, limits, masks_wanted=True)
    planes = masks or {n: image > 0 for n, image in images.items()}
    if not planes:
        raise VolumeRejected(422, "the ground-truth zip holds no masks named <case>_<n>_mask.tif|png")
    truth = _stack(planes, "ground-truth zip", limits)
    if truth.shape != tuple(shape):
        raise VolumeRejected(
            422, f"the ground-truth zip is {truth.shape} (columns, rows, slices), the image {tuple(shape)}"
        )
    return truth.astype(bool)
