"""Checks on a volume upload (NIfTI, a zipped DICOM series or a zip of 2D slices), by content, before storing.

Each failure is an ``UploadRejected`` with the HTTP status and a message a person can act on, like the slice path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainmets.source import Source, source_head, source_size
from brainmets.volumes import Volume, VolumeRejected
from brainmets.volumes.dicom_series import DicomSeries, read_dicom_zip
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import mask_from_volume, read_nifti, same_grid, sniff_nifti
from brainmets.volumes.slice_zip import is_slice_zip, read_slice_masks, read_slice_zip
from brainmets.volumes.zipsafe import sniff_zip
from services.gateway.validation import UploadRejected, parse_models

# Enough of a file to tell a NIfTI (its gzipped header inflates from far fewer bytes) or a zip from a slice.
SNIFF_BYTES = 64 * 1024


def is_volume(head: bytes) -> bool:
    """Whether an upload takes the volume path, from its first bytes: a NIfTI file (plain or gzipped) or a zip."""
    return sniff_zip(head) or sniff_nifti(head)


@dataclass(frozen=True)
class VolumeUpload:
    volume: Volume
    series: DicomSeries | None  # de-identified, for DICOM uploads
    ground_truth: np.ndarray | None  # bool, on the volume's grid
    models: tuple[str, ...]
    source: str = "nifti"  # "nifti", "dicom" or "slices" (a zip of 2D slices)

    @property
    def content_type(self) -> str:
        return "application/x-nifti" if self.source == "nifti" else "application/zip"


def _check_size(data: Source, limits: VolumeLimits, what: str) -> None:
    size = source_size(data)
    if size > limits.max_bytes:
        raise UploadRejected(413, f"the {what} is over the volume limit of {limits.max_bytes:,} bytes")
    if not size:
        raise UploadRejected(422, f"the {what} file is empty")


def _read_image(data: Source, limits: VolumeLimits) -> tuple[Volume, DicomSeries | None, np.ndarray | None, str]:
    """The volume, the DICOM series (if any), masks that came in the same zip (if any) and the source kind."""
    head = source_head(data, SNIFF_BYTES)
    if sniff_zip(head) and is_slice_zip(data):
        stack = read_slice_zip(data, limits)
        return stack.volume, None, stack.ground_truth, "slices"
    if sniff_zip(head):
        series = read_dicom_zip(data, limits)
        return series.volume, series, None, "dicom"
    return read_nifti(data, limits), None, None, "nifti"


def _read_truth(data: Source, volume: Volume, limits: VolumeLimits, source: str) -> np.ndarray:
    what = "ground-truth mask"
    _check_size(data, limits, what)
    head = source_head(data, SNIFF_BYTES)
    if source == "slices" and sniff_zip(head):
        return read_slice_masks(data, limits, volume.shape)
    if not sniff_nifti(head):
        raise UploadRejected(415, f"the {what} of a volume must be a NIfTI file (.nii or .nii.gz) on the same grid")
    truth = read_nifti(data, limits, what)
    if not same_grid(truth, volume):
        raise UploadRejected(
            422,
            f"the {what} is on another grid (shape {truth.shape}, spacing {_mm(truth)}) than the image "
            f"(shape {volume.shape}, spacing {_mm(volume)}) or another affine; upload the mask made on this image",
        )
    return mask_from_volume(truth)


def _mm(volume: Volume) -> str:
    return "x".join(f"{s:.3g}" for s in volume.spacing_mm) + " mm"


def validate_volume_upload(
    image: Source,
    ground_truth: Source | None,
    models_field: str | None,
    limits: VolumeLimits,
    known_models: Sequence[str],
    default_models: Sequence[str],
) -> VolumeUpload:
    """The upload as a volume, or ``UploadRejected``. ``image`` and ``ground_truth`` are bytes or seekable files
    (the gateway passes its spooled upload files), read in pieces as the readers need them."""
    models = parse_models(models_field, known_models, default_models)
    _check_size(image, limits, "image")
    try:
        volume, series, truth, source = _read_image(image, limits)
        if ground_truth is not None:
            truth = _read_truth(ground_truth, volume, limits, source)
    except VolumeRejected as exc:
        raise UploadRejected(exc.status_code, exc.detail) from None
    return VolumeUpload(volume, series, truth, models, source)
