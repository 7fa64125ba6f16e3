"""Volumes for tests: synthetic heads with known spherical lesions as NIfTI, and DICOM MR series built from
pydicom's real MR test file (its header, transfer syntax and identifying attributes), one file per slice."""

from __future__ import annotations

import copy
import gzip
import io
import zipfile

import nibabel as nib
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

# What pydicom's MR_small.dcm identifies, plus what the series builder adds: none may survive ingest.
IDENTIFIERS = {
    "PatientName": "DOE^JANE^Q",
    "PatientID": "PID-998877",
    "PatientBirthDate": "19610412",
    "InstitutionName": "St Example Hospital",
    "ReferringPhysicianName": "HOUSE^GREGORY",
    "AccessionNumber": "ACC-5544332",
}


def head_volume(
    shape: tuple[int, int, int] = (48, 40, 12), lesions: tuple[tuple[tuple[float, float, float], float], ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """An ellipsoid "head" (int16) with bright spherical lesions ``((centre voxel), radius in voxels)`` and
    their mask (bool)."""
    grid = np.indices(shape).astype(np.float32)
    centre = [(n - 1) / 2 for n in shape]
    head = sum(((g - c) / (0.45 * n)) ** 2 for g, c, n in zip(grid, centre, shape, strict=True)) <= 1
    mask = np.zeros(shape, bool)
    for point, radius in lesions:
        mask |= sum((g - p) ** 2 for g, p in zip(grid, point, strict=True)) <= radius**2
    rng = np.random.default_rng(0)
    image = np.where(head, 400.0, 0.0) + np.where(mask, 500.0, 0.0) + rng.normal(0, 5, shape) * head
    return np.clip(image, 0, None).astype(np.int16), mask


def nifti_file(data: np.ndarray, affine: np.ndarray, *, gz: bool = True, descrip: bytes = b"") -> bytes:
    """A NIfTI-1 file as another tool would write it, free text in its header if given."""
    image = nib.Nifti1Image(data, affine)
    image.header["descrip"] = descrip
    image.header["aux_file"] = descrip[:24]
    raw = image.to_bytes()
    return gzip.compress(raw) if gz else raw


def dicom_series(
    data: np.ndarray,
    spacing: tuple[float, float, float] = (0.9, 0.8, 3.0),
    *,
    series_uid: str | None = None,
    positions: list[float] | None = None,
    template: str = "MR_small.dcm",
) -> list[tuple[str, bytes]]:
    """One file per slice of ``data`` ``(columns, rows, slices)``, axial, named so that name order is not slice
    order; slice positions along z are ``positions`` (default: evenly spaced)."""
    base = pydicom.dcmread(get_testdata_file(template))
    for keyword, value in IDENTIFIERS.items():
        setattr(base, keyword, value)
    base.SeriesInstanceUID = series_uid or generate_uid()
    base.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    base.PixelSpacing = [spacing[1], spacing[0]]
    base.Rows, base.Columns = int(data.shape[1]), int(data.shape[0])
    base.RescaleSlope, base.RescaleIntercept = 1, 0
    z = positions if positions is not None else [10.0 + k * spacing[2] for k in range(data.shape[2])]
    files = []
    for k in range(data.shape[2]):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [-20.0, -15.0, float(z[k])]
        ds.InstanceNumber = data.shape[2] - k  # reversed on purpose: ordering must come from positions
        ds.PixelData = np.ascontiguousarray(data[:, :, k].T).astype(np.int16).tobytes()
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        files.append((f"export/DOE_JANE/IM{(k * 7) % data.shape[2]:04d}x{k}", buffer.getvalue()))
    return files


def zip_of(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def dicom_affine(shape: tuple[int, ...], spacing: tuple[float, float, float]) -> np.ndarray:
    """The RAS affine the series above must give, worked out by hand: axial, IOP (1,0,0,0,1,0), first slice at
    LPS (-20, -15, 10); LPS to RAS flips x and y."""
    return np.array(
        [
            [-spacing[0], 0, 0, 20.0],
            [0, -spacing[1], 0, 15.0],
            [0, 0, spacing[2], 10.0],
            [0, 0, 0, 1],
        ]
    )
