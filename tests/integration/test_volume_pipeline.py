"""A DICOM series end to end on the real services: gateway -> RabbitMQ -> one worker process per model ->
Postgres and S3 -> results API, de-identified in the bucket and the database."""

from __future__ import annotations

import gzip
import io
import zipfile

import nibabel as nib
import numpy as np
import pydicom
import pytest

from brainmets.db.models import Result, Scan
from brainmets.networks import MODEL_NAMES
from tests.services.polling import wait_final
from tests.services.volumes import IDENTIFIERS, dicom_affine, dicom_series, head_volume, nifti_file, zip_of

SPACING = (0.9, 0.8, 3.0)


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack()
    stack.start(dict.fromkeys(MODEL_NAMES, 1))
    return stack


def test_a_dicom_series_with_truth_gives_nifti_masks_lesions_and_3d_metrics(stack) -> None:
    data, truth = head_volume(lesions=(((14.0, 12.0, 4.0), 3.0),))
    affine = dicom_affine(data.shape, SPACING)
    files = {
        "image": ("study.zip", zip_of(dicom_series(data, SPACING)), "application/zip"),
        "ground_truth": ("seg.nii.gz", nifti_file(truth.astype(np.uint8), affine), "application/gzip"),
    }
    response = stack.upload(files)
    assert response.status_code == 202, response.text
    scan_id = response.json()["id"]
    scan = wait_final(stack.get_json, scan_id, timeout=120)

    assert scan["status"] == "done" and scan["kind"] == "volume"
    assert scan["shape"] == [48, 40, 12] and scan["slices"] == 12
    store = stack.store()
    blobs = []
    for model, result in scan["results"].items():
        assert result["progress"] == {"done": 12, "total": 12}
        assert set(result["metrics"]) == {"dice", "iou", "precision", "recall", "f1", "hd95_mm"}
        assert isinstance(result["lesions"], list) and result["detection"]["true_lesions"] == 1
        served = stack.get(f"/api/scans/{scan_id}/masks/{model}.nii.gz")
        assert served.status_code == 200
        mask = nib.Nifti1Image.from_bytes(gzip.decompress(served.content))
        assert mask.shape == data.shape and np.allclose(mask.affine, affine)
        blobs.append(gzip.decompress(served.content))
        seg = stack.get(f"/api/scans/{scan_id}/masks/{model}.dcm")
        assert seg.status_code == 200 and pydicom.dcmread(io.BytesIO(seg.content)).Modality == "SEG"
        blobs.append(seg.content)
    with stack.sessions()() as session:
        row = session.get(Scan, scan_id)
        assert row is not None and row.kind == "volume" and row.filename == "dicom-series.zip"
        blobs.append(repr([row.volume, row.filename, row.content_type]).encode())
        for result in session.query(Result).filter(Result.scan_id == scan_id).all():
            assert result.progress == {"done": 12, "total": 12}
            blobs.append(repr([result.lesions, result.metrics, result.error]).encode())
            blobs.append(gzip.decompress(store.get(result.mask_key)))
    series = zipfile.ZipFile(io.BytesIO(store.get(f"scans/{scan_id}/series.zip")))
    blobs += [series.read(name) for name in series.namelist()]
    blobs.append(gzip.decompress(store.get(f"scans/{scan_id}/volume.nii.gz")))
    blobs.append(store.get(f"scans/{scan_id}/display.png"))
    assert not store.exists(f"scans/{scan_id}/original")  # the upload as sent held the patient's identity
    for blob in blobs:
        for value in IDENTIFIERS.values():
            assert value.encode() not in blob and value.replace("^", " ").encode() not in blob, value
