"""Volumes over HTTP in the embedded mode: NIfTI and zipped DICOM series in, NIfTI masks, lesion lists, 3D
metrics and per-slice PNGs out; de-identification checked on everything stored and served."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brainmets.db import Scan
from brainmets.db.migrate import upgrade
from brainmets.inference import ModelCard, Segmenter, save_artifact
from brainmets.networks import build_model
from brainmets.volumes.lesions import detection, lesion_list, volume_metrics
from brainmets.volumes.orientation import axial_slice, canonical_affine, to_canonical
from services.embedded.main import build_embedded
from tests.services.polling import wait_final
from tests.services.volumes import IDENTIFIERS, dicom_affine, dicom_series, head_volume, nifti_file, zip_of

AFFINE = np.array([[-1.2, 0, 0, 30.0], [0, 1.1, 0, -20.0], [0, 0, 2.5, -5.0], [0, 0, 0, 1]])  # LAS, like FSL
LESIONS = (((14.0, 12.0, 4.0), 3.0), ((32.0, 26.0, 8.0), 2.0))


def _json(client: TestClient):
    return lambda path: client.get(path).json()


def _nifti(data: bytes) -> nib.Nifti1Image:
    return nib.Nifti1Image.from_bytes(gzip.decompress(data))


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


@pytest.fixture
def partial_masks(embedded_settings, tiny_artifacts: Path, tmp_path: Path):
    """The embedded app with the tiny models' thresholds at their median probability on the test volume: their
    masks are then partial and lopsided, so a mask turned the wrong way round would not pass for the right one."""
    data, _truth = head_volume(lesions=LESIONS)
    image = to_canonical(data.astype(np.float32), AFFINE)
    root = tmp_path / "artifacts"
    shutil.copytree(tiny_artifacts, root)
    for model in ("unetpp", "attention_unet"):
        segmenter = Segmenter.load(root / model, device="cpu")
        probability = [segmenter.predict(axial_slice(image, k)).probability for k in range(image.shape[2])]
        card_path = root / model / "model_card.json"
        card = json.loads(card_path.read_text())
        card["threshold"] = float(np.median(probability))
        card_path.write_text(json.dumps(card))
    settings = embedded_settings.model_copy(update={"ARTIFACTS_DIR": root})
    upgrade(settings.database_url)
    runtime, app = build_embedded(settings)
    with TestClient(app) as client:
        yield runtime, root, client


def test_nifti_in_gives_masks_on_the_same_grid_lesions_and_3d_metrics(partial_masks) -> None:
    _runtime, artifacts, client = partial_masks
    data, truth = head_volume(lesions=LESIONS)
    files = {
        "image": ("sub-01_flair.nii.gz", nifti_file(data, AFFINE, descrip=b"Jane Doe 1961-04-12"), "application/gzip"),
        "ground_truth": ("sub-01_seg.nii", nifti_file(truth.astype(np.uint8) * 2, AFFINE, gz=False), "x/y"),
    }
    accepted = client.post("/api/scans", files=files)
    assert accepted.status_code == 202, accepted.text
    scan = wait_final(_json(client), accepted.json()["id"], timeout=120)

    assert scan["status"] == "done"
    assert scan["kind"] == "volume"
    assert scan["shape"] == [48, 40, 12]
    assert scan["spacing_mm"] == [1.2, 1.1, 2.5]
    assert scan["slices"] == 12
    assert scan["has_ground_truth"] is True
    for model, result in scan["results"].items():
        assert result["progress"] == {"done": 12, "total": 12}
        served = client.get(f"/api/scans/{scan['id']}/masks/{model}.nii.gz")
        assert served.status_code == 200 and served.headers["content-type"] == "application/gzip"
        mask_image = _nifti(served.content)
        assert mask_image.shape == (48, 40, 12)
        assert np.allclose(mask_image.affine, AFFINE)
        assert mask_image.get_data_dtype() == np.uint8
        mask = np.asarray(mask_image.dataobj)
        assert set(np.unique(mask)) <= {0, 1}
        mask = mask.astype(bool)
        assert 0 < mask.sum() < mask.size and not np.array_equal(mask, mask[::-1]), "a mask that tells orientations"
        # The figures are those of the served mask against the uploaded truth, computed here independently.
        expected = volume_metrics(mask, truth, (1.2, 1.1, 2.5))
        assert set(result["metrics"]) == {"dice", "iou", "precision", "recall", "f1", "hd95_mm"}
        for key, value in expected.items():
            assert result["metrics"][key] == (None if value is None else _approx(value)), key
        assert result["detection"] == detection(mask, truth)
        canonical = to_canonical(mask, AFFINE)
        assert result["lesions"] == lesion_list(canonical, canonical_affine(AFFINE, canonical.shape))
        assert result["links"]["mask"] == f"/api/scans/{scan['id']}/masks/{model}.nii.gz"
        # Every axial slice went through the one prediction path, and came back onto the uploaded grid.
        segmenter = Segmenter.load(artifacts / model, device="cpu")
        image = to_canonical(data.astype(np.float32), AFFINE)
        for k in (0, 4, 11):
            assert np.array_equal(axial_slice(canonical, k), segmenter.predict(axial_slice(image, k)).mask), k
        # The Attention U-Net's attention volume, slice by slice, as the one prediction path gives it.
        assert ("slice_attention" in result["links"]) == (model == "attention_unet")
        if model == "attention_unet":
            for k in (2, 9):
                served_attention = _png(client.get(result["links"]["slice_attention"].format(k=k)))
                expected_attention = segmenter.predict(axial_slice(image, k), with_attention=True).attention
                assert served_attention.shape == (40, 48)
                assert not np.array_equal(served_attention, served_attention[::-1, ::-1]), "tells orientations"
                assert np.abs(served_attention.astype(int) - np.rint(expected_attention * 255)).max() <= 1
        k = 5
        slice_mask = _png(client.get(result["links"]["slice_mask"].format(k=k)))
        assert np.array_equal(slice_mask == 255, axial_slice(canonical, k))
    truth_slice = _png(client.get(scan["links"]["slice_ground_truth"].format(k=4)))
    assert np.array_equal(truth_slice == 255, axial_slice(to_canonical(truth, AFFINE), 4))
    image_slice = _png(client.get(scan["links"]["slice_image"].format(k=4)))
    assert image_slice.shape == (40, 48) and image_slice.max() > 0
    assert client.get(scan["links"]["slice_image"].format(k=12)).status_code == 404
    stored_truth = _nifti(client.get(scan["links"]["ground_truth"]).content)
    assert np.array_equal(np.asarray(stored_truth.dataobj).astype(bool), truth)
    # The free text of the uploaded header never reaches the store.
    stored_image = _nifti(partial_masks[0].store.get(f"scans/{scan['id']}/volume.nii.gz"))
    assert stored_image.header["descrip"].item() == b"" and stored_image.header["aux_file"].item() == b""
    assert np.array_equal(np.asarray(stored_image.dataobj), data)


def _approx(value: float):
    return pytest.approx(value, abs=1e-3)


def test_lesions_are_measured_in_millimetres_on_a_known_volume() -> None:
    data, truth = head_volume(lesions=LESIONS)
    canonical = to_canonical(truth, AFFINE)
    lesions = lesion_list(canonical, canonical_affine(AFFINE, canonical.shape))
    assert [lesion["id"] for lesion in lesions] == [1, 2]
    big, small = lesions
    voxel_ml = 1.2 * 1.1 * 2.5 / 1000
    assert big["volume_ml"] == round(int(np.count_nonzero(truth & (np.indices(truth.shape)[0] < 24))) * voxel_ml, 4)
    # Radius 3 voxels along x (1.2 mm): 7 pixels across, corner to corner 8.4 mm at least.
    assert 8.4 <= big["max_diameter_mm"] <= 8.4 * 1.5
    assert big["slices"] == [1, 7] and big["largest_slice"] == 4  # radius 3 voxels around slice 4
    # LAS: canonical x runs the other way, and slice images have x from right to left and y from front to back.
    assert big["centre_px"] == [14.0, 40 - 1 - 12.0]
    world = AFFINE @ np.array([14.0, 12.0, 4.0, 1.0])
    assert np.allclose(big["centroid_mm"], world[:3], atol=0.05)
    assert small["slices"] == [6, 10] and small["volume_ml"] < big["volume_ml"]


def test_dicom_series_in_is_deidentified_everywhere(embedded) -> None:
    runtime, _app, client = embedded
    data, truth = head_volume(lesions=LESIONS)
    spacing = (0.9, 0.8, 3.0)
    archive = zip_of(dicom_series(data, spacing))
    accepted = client.post("/api/scans", files={"image": ("DOE_JANE_MRI.zip", archive, "application/zip")})
    assert accepted.status_code == 202, accepted.text
    scan = wait_final(_json(client), accepted.json()["id"], timeout=120)
    assert scan["status"] == "done" and scan["kind"] == "volume"
    assert scan["shape"] == [48, 40, 12] and scan["spacing_mm"] == [0.9, 0.8, 3.0]
    assert scan["filename"] == "dicom-series.zip"

    served = [client.get(f"/api/scans/{scan['id']}").content, client.get("/api/scans").content]
    for model in scan["results"]:
        mask = client.get(f"/api/scans/{scan['id']}/masks/{model}.nii.gz")
        assert np.allclose(_nifti(mask.content).affine, dicom_affine(data.shape, spacing))
        served.append(mask.content)
        served.append(gzip.decompress(mask.content))
    stored = _stored_artefacts(runtime)
    series = zipfile.ZipFile(io.BytesIO(runtime.store.get(f"scans/{scan['id']}/series.zip")))
    members = [series.read(name) for name in series.namelist()]
    assert len(members) == 12
    for blob in served + stored + members:
        for value in IDENTIFIERS.values():
            for form in {value, value.replace("^", " ")}:
                assert form.encode() not in blob, form
    first = pydicom.dcmread(io.BytesIO(members[0]))
    assert first.PatientIdentityRemoved == "YES"
    assert [c.CodeValue for c in first.DeidentificationMethodCodeSequence] == ["113100", "113110"]
    assert first.StudyInstanceUID  # Retain UIDs: the study can still be found in the hospital's systems
    assert "PatientBirthDate" not in first or not first.PatientBirthDate
    positions = [float(pydicom.dcmread(io.BytesIO(m)).ImagePositionPatient[2]) for m in members]
    assert positions == sorted(positions)


def test_dicom_input_gives_a_seg_that_references_the_series_and_holds_the_mask(partial_masks) -> None:
    runtime, _artifacts, client = partial_masks
    data, _truth = head_volume(lesions=LESIONS)
    accepted = client.post("/api/scans", files={"image": ("s.zip", zip_of(dicom_series(data)), "application/zip")})
    scan = wait_final(_json(client), accepted.json()["id"], timeout=120)
    series = zipfile.ZipFile(io.BytesIO(runtime.store.get(f"scans/{scan['id']}/series.zip")))
    sources = [pydicom.dcmread(io.BytesIO(series.read(name))) for name in sorted(series.namelist())]
    for model, result in scan["results"].items():
        assert result["links"]["seg"] == f"/api/scans/{scan['id']}/masks/{model}.dcm"
        response = client.get(result["links"]["seg"])
        assert response.status_code == 200 and response.headers["content-type"] == "application/dicom"
        seg = pydicom.dcmread(io.BytesIO(response.content))
        assert seg.Modality == "SEG" and seg.SeriesInstanceUID != sources[0].SeriesInstanceUID
        assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == sources[0].SeriesInstanceUID
        assert seg.StudyInstanceUID == sources[0].StudyInstanceUID
        for value in IDENTIFIERS.values():
            assert value.encode() not in response.content and value.replace("^", " ").encode() not in response.content
        mask = np.asarray(_nifti(client.get(result["links"]["mask"]).content).dataobj).astype(bool)
        assert 0 < mask.sum() < mask.size and not np.array_equal(mask, mask[::-1]), "a mask that tells orientations"
        read_back = hd.seg.segread(io.BytesIO(response.content))
        for k, source in enumerate(sources):
            frame = read_back.get_pixels_by_source_instance(
                source_sop_instance_uids=[source.SOPInstanceUID], segment_numbers=[1]
            )[0, :, :, 0]
            assert np.array_equal(frame.astype(bool), mask[:, :, k].T), k


def test_a_nifti_scan_has_no_seg(embedded) -> None:
    _runtime, _app, client = embedded
    data, _truth = head_volume()
    accepted = client.post("/api/scans", files={"image": ("v.nii.gz", nifti_file(data, AFFINE), "application/gzip")})
    scan = wait_final(_json(client), accepted.json()["id"], timeout=120)
    assert all("seg" not in result["links"] for result in scan["results"].values())
    response = client.get(f"/api/scans/{scan['id']}/masks/unetpp.dcm")
    assert response.status_code == 404 and "not uploaded as DICOM" in response.json()["detail"]


def _stored_artefacts(runtime) -> list[bytes]:
    """Every object in the store (inflated where gzipped) and every row of the database as text."""
    blobs = []
    for path in runtime.settings.objects_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            blobs.append(raw)
            if raw.startswith(b"\x1f\x8b"):
                blobs.append(gzip.decompress(raw))
    with runtime.sessions() as session:
        for scan in session.query(Scan).all():
            blobs.append(repr({c.name: getattr(scan, c.name) for c in Scan.__table__.columns}).encode())
            for result in scan.results:
                blobs.append(repr({c.name: getattr(result, c.name) for c in result.__table__.columns}).encode())
    return blobs


def test_volume_workers_apply_the_cards_3d_post_processing(embedded_settings, tiny_artifacts: Path, tmp_path: Path):
    # The untrained tiny models call everything lesion; a 3D step larger than the volume leaves nothing.
    root = tmp_path / "artifacts-3d"
    shutil.copytree(tiny_artifacts, root)
    for model in ("unetpp", "attention_unet"):
        path = root / model / "model_card.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "min_component_voxels": 10**9}))
    settings = embedded_settings.model_copy(update={"ARTIFACTS_DIR": root})
    upgrade(settings.database_url)
    _runtime, app = build_embedded(settings)
    data, _truth = head_volume()
    with TestClient(app) as client:
        files = {"image": ("v.nii.gz", nifti_file(data, AFFINE), "application/gzip")}
        scan = wait_final(_json(client), client.post("/api/scans", files=files).json()["id"], timeout=120)
        for result in scan["results"].values():
            assert result["lesions"] == [] and result["lesion_area_px"] == 0


def test_progress_is_reported_while_the_worker_runs(embedded_settings, tiny_artifacts: Path, tmp_path: Path) -> None:
    # A U-Net++ at 256 x 256 takes most of a second per batch of 16 slices here: time to see it between batches.
    root = tmp_path / "artifacts-slowish"
    shutil.copytree(tiny_artifacts / "attention_unet", root / "attention_unet")
    card = ModelCard(
        name="unetpp",
        architecture="UNetPlusPlus",
        version="slowish",
        network={"widths": [8, 16, 32]},
        input_size=(256, 256),
    )
    save_artifact(build_model("unetpp", widths=[8, 16, 32]), card, root / "unetpp")
    settings = embedded_settings.model_copy(update={"ARTIFACTS_DIR": root})
    upgrade(settings.database_url)
    _runtime, app = build_embedded(settings)
    data, _truth = head_volume(shape=(48, 40, 48))
    with TestClient(app) as client:
        files = {"image": ("v.nii.gz", nifti_file(data, AFFINE), "application/gzip")}
        scan_id = client.post("/api/scans", files=files, data={"models": "unetpp"}).json()["id"]
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            result = client.get(f"/api/scans/{scan_id}").json()["results"]["unetpp"]
            if result.get("progress") and result["progress"] not in seen:
                seen.append(result["progress"])
            if result["status"] in ("done", "failed"):
                break
            time.sleep(0.02)
    assert seen[-1] == {"done": 48, "total": 48}
    assert any(0 < p["done"] < 48 and p["total"] == 48 for p in seen), seen
    assert [p["done"] for p in seen] == sorted(p["done"] for p in seen)  # never backwards
