"""NIfTI-1/-2 files in and out, through nibabel, with the size read from the header before anything is inflated.

A ``.nii.gz`` is only inflated up to the size its header declares, so a gzip bomb costs no more than an honest
file of the allowed voxel count; a truncated or corrupt file is a clear 422. Files written here start from a
fresh header, so the free-text fields of an upload (``descrip``, ``aux_file``, ``intent_name``, ``db_name``),
which often hold names and dates, never reach the store.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

import nibabel as nib
import numpy as np

from brainmets.source import Source, open_source, source_head
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.volume import Volume, VolumeRejected

GZIP_MAGIC = b"\x1f\x8b"
FREE_TEXT_FIELDS = ("descrip", "aux_file", "intent_name", "db_name")
_HEADER_BYTES = {1: 348, 2: 540}
# Header plus extensions: bytes a file may hold before its voxels, beyond the fixed header.
_MAX_EXTENSION_BYTES = 1024 * 1024


def nifti_version(head: bytes) -> int | None:
    """1 or 2 for the first bytes of an uncompressed NIfTI file, else ``None``."""
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return 1
    if len(head) >= 12 and head[4:8] in (b"n+2\x00", b"ni2\x00"):
        return 2
    return None


def _inflate(source: Source, limit: int, what: str) -> bytes:
    """Up to ``limit`` bytes of a gzip stream; corrupt or cut-off streams are a 422."""
    try:
        with gzip.GzipFile(fileobj=open_source(source), mode="rb") as stream:
            return stream.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise VolumeRejected(422, f"the {what} is not a readable .nii.gz: the gzip stream is {_why(exc)}") from None


def _why(exc: Exception) -> str:
    return "cut off before its end" if isinstance(exc, EOFError) else "corrupt"


def sniff_nifti(data: bytes) -> bool:
    """Whether ``data`` is a NIfTI file, plain or gzipped (by content, not name)."""
    if data.startswith(GZIP_MAGIC):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                head = stream.read(548)
        except (OSError, EOFError, zlib.error):
            # A gzip whose start does not inflate cannot be told apart; let the reader answer 422 for it.
            return True
        return nifti_version(head) is not None
    return nifti_version(data[:548]) is not None


def read_nifti(source: Source, limits: VolumeLimits, what: str = "image") -> Volume:
    """One 3D volume (a 4D file with one volume too) as float32 with its affine; ``VolumeRejected`` otherwise.

    ``source`` is the file's bytes or a seekable file: only the bytes its header declares are read from it.
    """
    gzipped = source_head(source, 2) == GZIP_MAGIC
    head = _inflate(source, 548, what) if gzipped else source_head(source, 548)
    version = nifti_version(head)
    if version is None:
        raise VolumeRejected(422, f"the {what} is not a NIfTI file (no NIfTI magic in its header)")
    header_class = nib.Nifti1Header if version == 1 else nib.Nifti2Header
    try:
        header = header_class.from_fileobj(io.BytesIO(head[: _HEADER_BYTES[version]]), check=True)
        shape = tuple(int(n) for n in header.get_data_shape())
        bits = int(header["bitpix"])
        offset = int(header["vox_offset"])
    except Exception as exc:  # nibabel raises several types for a bad header
        raise VolumeRejected(422, f"the {what}'s NIfTI header is invalid: {str(exc)[:200]}") from None
    _check_shape(shape, limits, what)
    voxels = int(np.prod(shape))
    needed = max(offset, _HEADER_BYTES[version]) + voxels * bits // 8
    if offset > _HEADER_BYTES[version] + 4 + _MAX_EXTENSION_BYTES:
        raise VolumeRejected(422, f"the {what}'s NIfTI header extensions are over {_MAX_EXTENSION_BYTES:,} bytes")
    raw = _inflate(source, needed, what) if gzipped else open_source(source).read(needed)
    if len(raw) < needed:
        raise VolumeRejected(
            422, f"the {what} is truncated: its header declares {needed:,} bytes of data, the file holds {len(raw):,}"
        )
    image_class = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    try:
        image = image_class.from_bytes(raw)
        voxels_array = np.asarray(image.get_fdata(dtype=np.float32)).reshape(shape[:3])
        affine = np.asarray(image.affine, dtype=np.float64)
    except Exception as exc:
        raise VolumeRejected(422, f"the {what} could not be read as NIfTI: {str(exc)[:200]}") from None
    if not np.isfinite(voxels_array).all():
        raise VolumeRejected(422, f"the {what} holds NaN or infinite values")
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise VolumeRejected(422, f"the {what}'s affine (qform/sform) is degenerate; fix its header geometry")
    return Volume(voxels_array, affine)


def _check_shape(shape: tuple[int, ...], limits: VolumeLimits, what: str) -> None:
    if len(shape) < 3:
        raise VolumeRejected(
            422,
            f"the {what} is a {len(shape)}D NIfTI of shape {shape}; upload a 3D volume, or a single slice as PNG/TIFF",
        )
    if len(shape) > 4 or (len(shape) == 4 and shape[3] != 1):
        raise VolumeRejected(
            422, f"the {what} is a NIfTI of shape {shape}; only 3D volumes (or 4D with one volume) are accepted"
        )
    if min(shape[:3]) < 1:
        raise VolumeRejected(422, f"the {what} has an empty dimension: shape {shape}")
    if max(shape[:3]) > limits.max_slices:
        raise VolumeRejected(
            413, f"the {what} has {max(shape[:3]):,} slices along one axis; the limit is {limits.max_slices:,}"
        )
    if int(np.prod(shape[:3])) > limits.max_voxels:
        raise VolumeRejected(
            413, f"the {what} has {int(np.prod(shape[:3])):,} voxels; the limit is {limits.max_voxels:,}"
        )


def same_grid(a: Volume, b: Volume, tolerance_mm: float = 1e-3) -> bool:
    return a.shape == b.shape and bool(np.allclose(a.affine, b.affine, atol=tolerance_mm))


def _whole_int16(data: np.ndarray) -> bool:
    """Whether every value is a whole number in int16's range, checked a slab of slices at a time (no
    volume-sized temporaries)."""
    if not data.size or data.min() < -32768 or data.max() > 32767:
        return False
    if data.dtype.kind in "iub":
        return True
    return all(np.all(np.mod(data[..., k : k + 16], 1) == 0) for k in range(0, data.shape[-1], 16))


def _compact(data: np.ndarray) -> np.ndarray:
    """int16 when every value is a whole number in its range (most MR is), else float32: a smaller object."""
    return data.astype(np.int16) if _whole_int16(data) else data.astype(np.float32, copy=False)


def write_nifti(data: np.ndarray, affine: np.ndarray, target: BinaryIO) -> None:
    """A ``.nii.gz`` of ``data`` on ``affine``'s grid into ``target``, from a fresh header (no free text, units
    mm), compressed as it is written."""
    array = data.astype(np.uint8) if data.dtype == bool else _compact(np.asarray(data))
    image = nib.Nifti1Image(array, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    for field in FREE_TEXT_FIELDS:
        image.header[field] = b""
    with gzip.GzipFile(fileobj=target, mode="wb", compresslevel=3, mtime=0) as stream:
        image.to_stream(stream)


def nifti_bytes(data: np.ndarray, affine: np.ndarray) -> bytes:
    """``write_nifti`` into bytes (masks and other small outputs)."""
    buffer = io.BytesIO()
    write_nifti(data, affine, buffer)
    return buffer.getvalue()


def mask_from_volume(truth: Volume) -> np.ndarray:
    """A label volume as a lesion mask: label > 0 is lesion."""
    return truth.data > 0
