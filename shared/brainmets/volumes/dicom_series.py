"""One DICOM MR series from a zip into a volume, through pydicom; de-identified before anything leaves here.

Slices are ordered by their position along the slice normal (``ImagePositionPatient`` projected on the cross
product of the ``ImageOrientationPatient`` cosines), never by file name or ``InstanceNumber``. The affine is
built from ``ImageOrientationPatient``, ``ImagePositionPatient`` and ``PixelSpacing`` in DICOM's LPS and turned
to NIfTI's RAS. Whatever cannot form one volume is a 422 that says why.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from brainmets.source import Source
from brainmets.volumes.deidentify import deidentify
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.volume import Volume, VolumeRejected
from brainmets.volumes.zipsafe import zip_members

SUPPORTED_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
MEDIA_STORAGE_DIRECTORY = UID("1.2.840.10008.1.3.10")
# Slice positions may differ from the median step by this share (rounding in IPP) and still be one grid.
SPACING_TOLERANCE = 0.05
ORIENTATION_TOLERANCE = 1e-4
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class DicomSeries:
    volume: Volume
    datasets: list[FileDataset]  # de-identified, in slice order

    def write_zip(self, target: BinaryIO) -> None:
        """The de-identified series as a zip (one file per slice, named by position), for SEG and downloads;
        written slice by slice, so only one slice's encoding is in memory besides ``target``."""
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for index, dataset in enumerate(self.datasets):
                out = io.BytesIO()
                dataset.save_as(out, enforce_file_format=True)
                archive.writestr(f"series/{index:05d}.dcm", out.getvalue())


def _is_dicom_file(_name: str, head: bytes) -> bool:
    """A DICOM Part 10 file: the "DICM" mark after the 128-byte preamble (what pydicom requires unforced)."""
    return head[128:132] == b"DICM"


def _datasets(source: Source, limits: VolumeLimits) -> list[FileDataset]:
    datasets = []
    # README files, thumbnails and the like sit beside series in exports: skipped unread.
    for _name, raw in zip_members(source, limits, keep=_is_dicom_file):
        try:
            dataset = pydicom.dcmread(io.BytesIO(raw))
        except (InvalidDicomError, EOFError, ValueError, TypeError, AttributeError, KeyError):
            continue
        if dataset.file_meta.get("MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY or "PixelData" not in dataset:
            continue  # DICOMDIR and non-image objects
        datasets.append(dataset)
    if not datasets:
        raise VolumeRejected(
            422, "the zip holds no DICOM images; zip the folder of one MR series (files with or without .dcm)"
        )
    return datasets


def _check_one_series(datasets: list[FileDataset]) -> None:
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in datasets}
    if len(series) > 1:
        raise VolumeRejected(422, f"the zip mixes {len(series)} series (SeriesInstanceUID); upload one series per scan")
    modalities = {str(ds.get("Modality", "")) for ds in datasets}
    if modalities != {"MR"}:
        raise VolumeRejected(
            422, f"the series is {', '.join(sorted(modalities)) or 'of no modality'}; only MR is accepted"
        )
    for ds in datasets:
        syntax = ds.file_meta.TransferSyntaxUID
        if syntax not in SUPPORTED_SYNTAXES:
            raise VolumeRejected(
                422,
                f"the transfer syntax {syntax.name} is not supported; export the series uncompressed "
                "(Explicit or Implicit VR Little Endian)",
            )
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise VolumeRejected(422, "multi-frame (enhanced) DICOM is not supported; export one file per slice")
        for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "Rows", "Columns"):
            if keyword not in ds:
                raise VolumeRejected(422, f"a slice has no {keyword}, so the series cannot be placed in space")


def _geometry(datasets: list[FileDataset]) -> tuple[list[FileDataset], np.ndarray]:
    """The slices in order along the normal and the LPS affine of the volume ``(column, row, slice)``."""
    orientation = np.asarray(datasets[0].ImageOrientationPatient, dtype=np.float64)
    spacing = np.asarray(datasets[0].PixelSpacing, dtype=np.float64)
    size = (int(datasets[0].Rows), int(datasets[0].Columns))
    for ds in datasets[1:]:
        if not np.allclose(
            np.asarray(ds.ImageOrientationPatient, dtype=np.float64), orientation, atol=ORIENTATION_TOLERANCE
        ):
            raise VolumeRejected(
                422, "the slices have different orientations (ImageOrientationPatient); one stack only"
            )
        if (int(ds.Rows), int(ds.Columns)) != size or not np.allclose(np.asarray(ds.PixelSpacing, float), spacing):
            raise VolumeRejected(422, "the slices differ in size or pixel spacing; upload one series of one matrix")
    row_cosine, column_cosine = orientation[:3], orientation[3:]
    normal = np.cross(row_cosine, column_cosine)
    positions = [float(np.dot(np.asarray(ds.ImagePositionPatient, dtype=np.float64), normal)) for ds in datasets]
    order = np.argsort(positions)
    ordered = [datasets[i] for i in order]
    sorted_positions = np.asarray(positions)[order]
    if len(ordered) < 2:
        raise VolumeRejected(422, "the series has one slice; upload a single slice as PNG/TIFF, or the whole series")
    steps = np.diff(sorted_positions)
    if np.any(steps < 1e-3):
        raise VolumeRejected(422, "two slices share one position; the zip holds duplicates or more than one stack")
    step = float(np.median(steps))
    if np.any(steps > step * 1.5):
        gaps = int(np.sum(np.round(steps[steps > step * 1.5] / step) - 1))
        raise VolumeRejected(422, f"the series misses {gaps} slice(s): positions jump by more than one slice step")
    if np.any(np.abs(steps - step) > SPACING_TOLERANCE * step):
        raise VolumeRejected(
            422, f"the slice spacing is not uniform (from {steps.min():.3f} to {steps.max():.3f} mm); one grid only"
        )
    affine = np.eye(4)
    # Voxel (i, j, k): i along a row (the row cosine, column spacing), j down the columns, k along the normal.
    affine[:3, 0] = row_cosine * spacing[1]
    affine[:3, 1] = column_cosine * spacing[0]
    affine[:3, 2] = normal * step
    affine[:3, 3] = np.asarray(ordered[0].ImagePositionPatient, dtype=np.float64)
    return ordered, affine


def _pixels(ds: FileDataset) -> np.ndarray:
    try:
        # Decoded without caching the array on the dataset (``ds.pixel_array`` would, doubling a study's memory).
        pixels = pixel_array(ds).astype(np.float32)
    except Exception as exc:
        raise VolumeRejected(422, f"a slice's pixel data cannot be decoded: {str(exc)[:200]}") from None
    if pixels.ndim != 2:
        raise VolumeRejected(422, "a slice is not a single grey-level image (colour or multi-frame)")
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    return pixels * slope + intercept


def read_dicom_zip(source: Source, limits: VolumeLimits) -> DicomSeries:
    """The series in ``source`` (a zip's bytes or file) as a volume on its reconstructed grid, its datasets
    de-identified."""
    datasets = _datasets(source, limits)
    if len(datasets) > limits.max_slices:
        raise VolumeRejected(413, f"the series has {len(datasets):,} slices; the limit is {limits.max_slices:,}")
    _check_one_series(datasets)
    ordered, affine = _geometry(datasets)
    rows, columns = int(ordered[0].Rows), int(ordered[0].Columns)
    if rows * columns * len(ordered) > limits.max_voxels:
        raise VolumeRejected(
            413, f"the series has {rows * columns * len(ordered):,} voxels; the limit is {limits.max_voxels:,}"
        )
    # pixel_array is (row, column); the volume is (column, row, slice) to match the affine's axes.
    data_array = np.empty((columns, rows, len(ordered)), np.float32)
    for k, ds in enumerate(ordered):
        data_array[:, :, k] = _pixels(ds).T
    for ds in ordered:
        deidentify(ds)
    return DicomSeries(Volume(data_array, LPS_TO_RAS @ affine), ordered)
