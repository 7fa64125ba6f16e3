"""A study is read from the upload in pieces and streamed to the store, never held whole in memory.

The gateway hands the readers the file the multipart parser spooled to disk; here a file that records every read
stands in for it, and each test checks what a whole-file read would break: no single read returns more than
``PIECE`` bytes, and members a series does not need are skipped unread.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

from brainmets.catalog import MODEL_NAMES
from brainmets.storage import LocalStore
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import read_nifti, write_nifti
from services.gateway.volume_validation import validate_volume_upload
from tests.services.volumes import IDENTIFIERS, dicom_series, head_volume, nifti_file

PIECE = 1024 * 1024
LIMITS = VolumeLimits(max_bytes=10**9, max_slices=1024, max_voxels=10**8, max_zip_members=1000, max_zip_bytes=10**9)


class RecordedFile(io.BytesIO):
    """A seekable file that records how many bytes each read returned."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.reads.append(len(chunk))
        return chunk

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self.reads.append(len(chunk))
        return chunk


def _series_with_a_large_extra(extra_bytes: int) -> tuple[bytes, np.ndarray]:
    """A zipped 160 x 160 x 24 DICOM series beside an incompressible, stored non-DICOM member (a viewer's
    bundle, as PACS exports carry)."""
    data, _mask = head_volume((160, 160, 24), (((80, 80, 12), 6),))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/VIEWER.BIN", os.urandom(extra_bytes), compress_type=zipfile.ZIP_STORED)
        for name, blob in dicom_series(data):
            archive.writestr(name, blob)
    return buffer.getvalue(), data


def test_a_zipped_series_is_read_member_by_member_and_extras_are_skipped_unread() -> None:
    extra = 6 * PIECE
    archive, data = _series_with_a_large_extra(extra)
    upload = RecordedFile(archive)
    accepted = validate_volume_upload(upload, None, None, LIMITS, MODEL_NAMES, MODEL_NAMES)
    assert accepted.source == "dicom"
    assert np.array_equal(accepted.volume.data, data)
    assert max(upload.reads) <= PIECE, "some read took more than one piece of the upload"
    assert sum(upload.reads) < len(archive) - extra + PIECE, "the non-DICOM member was read"
    for dataset in accepted.series.datasets:
        assert str(dataset.PatientName) != IDENTIFIERS["PatientName"]


def test_a_gzipped_nifti_is_inflated_from_the_file_in_pieces() -> None:
    data, mask = head_volume((192, 192, 96), (((90, 100, 40), 8),))
    affine = np.diag([0.9, 0.9, 1.5, 1.0])
    upload = RecordedFile(nifti_file(data, affine))
    truth = RecordedFile(nifti_file(mask.astype(np.uint8), affine))
    accepted = validate_volume_upload(upload, truth, None, LIMITS, MODEL_NAMES, MODEL_NAMES)
    assert np.array_equal(accepted.volume.data, data)
    assert np.array_equal(accepted.ground_truth, mask)
    assert max(upload.reads + truth.reads) <= PIECE


def test_an_empty_or_oversized_file_is_refused_from_its_size_alone() -> None:
    small = VolumeLimits(max_bytes=1000, max_slices=64, max_voxels=10**6, max_zip_members=10, max_zip_bytes=10**6)
    data, _mask = head_volume()
    upload = RecordedFile(nifti_file(data, np.eye(4), gz=False))
    with pytest.raises(Exception, match="over the volume limit of 1,000 bytes") as refused:
        validate_volume_upload(upload, None, None, small, MODEL_NAMES, MODEL_NAMES)
    assert refused.value.status_code == 413
    assert sum(upload.reads) == 0
    with pytest.raises(Exception, match="empty") as empty:
        validate_volume_upload(RecordedFile(b""), None, None, small, MODEL_NAMES, MODEL_NAMES)
    assert empty.value.status_code == 422


def test_the_stored_study_is_written_from_a_file_and_reads_back_the_same(tmp_path) -> None:
    data, _mask = head_volume((96, 96, 40))
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    encoded = RecordedFile(b"")
    write_nifti(data, affine, encoded)
    store = LocalStore(tmp_path)
    store.put("scans/a/volume.nii.gz", encoded, "application/gzip")
    back = read_nifti(store.get("scans/a/volume.nii.gz"), LIMITS)
    assert np.array_equal(back.data, data)
    assert np.allclose(back.affine, affine)
