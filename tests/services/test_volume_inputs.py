"""Volume inputs: the real sample files nibabel and pydicom ship, synthetic series, and every bad input answered
with a clear 4xx and nothing stored."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import nibabel as nib
import nibabel.testing
import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydicom.data import get_testdata_file

from brainmets.db import Scan
from brainmets.db.migrate import upgrade
from brainmets.volumes.deidentify import EMPTIED, REMOVED, deidentify
from brainmets.volumes.dicom_series import read_dicom_zip
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import nifti_bytes, read_nifti
from brainmets.volumes.orientation import axial_slice, from_canonical, stack_axial, to_canonical
from services.embedded.main import build_embedded
from tests.services.polling import wait_final
from tests.services.volumes import dicom_series, head_volume, nifti_file, zip_of

NIBABEL_DATA = Path(nibabel.testing.data_path)
LIMITS = VolumeLimits(max_bytes=10**9, max_slices=1024, max_voxels=10**8, max_zip_members=100, max_zip_bytes=10**8)
AFFINE = np.diag([1.0, 1.0, 2.0, 1.0])


def _stored(runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        scans = session.query(Scan).count()
    root = runtime.settings.objects_dir
    return scans, sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


@pytest.mark.parametrize("name", ["anatomical.nii", "standard.nii.gz"])
def test_nibabels_sample_files_read_as_nibabel_reads_them(name: str) -> None:
    expected = nib.load(NIBABEL_DATA / name)
    volume = read_nifti((NIBABEL_DATA / name).read_bytes(), LIMITS)
    assert volume.shape == expected.shape
    assert np.allclose(volume.affine, expected.affine)
    assert np.allclose(volume.data, expected.get_fdata())


def test_orientation_matches_nibabels_canonical_and_returns_exactly() -> None:
    image = nib.load(NIBABEL_DATA / "anatomical.nii")  # LAS
    data = np.asarray(image.get_fdata(), np.float32)
    canonical = to_canonical(data, image.affine)
    assert np.array_equal(canonical, nib.as_closest_canonical(image).get_fdata().astype(np.float32))
    slices = [axial_slice(canonical, k) for k in range(canonical.shape[2])]
    assert np.array_equal(from_canonical(stack_axial(slices), image.affine), data)


def test_a_4d_file_with_one_volume_is_accepted_and_written_from_a_fresh_header() -> None:
    image = nib.load(NIBABEL_DATA / "example4d.nii.gz")
    one = nib.Nifti1Image(np.asarray(image.dataobj)[..., :1], image.affine, image.header)
    assert one.header["descrip"].item().startswith(b"FSL")
    volume = read_nifti(one.to_bytes(), LIMITS)
    assert volume.shape == (128, 96, 24)
    written = nib.Nifti1Image.from_bytes(gzip.decompress(nifti_bytes(volume.data, volume.affine)))
    for field in ("descrip", "aux_file", "intent_name", "db_name"):
        assert written.header[field].item() == b""
    assert np.allclose(written.affine, image.affine)


def test_pydicoms_mr_file_loses_every_identifier_but_keeps_its_uids() -> None:
    dataset = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    assert str(dataset.PatientName) == "CompressedSamples^MR1" and dataset.InstitutionName
    uids = (dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID)
    deidentify(dataset)
    for keyword in REMOVED:
        assert keyword not in dataset, keyword
    for keyword in EMPTIED:
        assert keyword not in dataset or not dataset.data_element(keyword).value, keyword
    assert not any(element.tag.is_private for element in dataset)
    assert (dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID) == uids
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    # (Its institution, TOSHIBA, is also its manufacturer, which the profile keeps.)
    for value in (b"CompressedSamples", b"4MR1"):
        assert value not in out.getvalue()


def test_a_series_is_ordered_by_position_not_by_name_or_instance_number() -> None:
    data, _mask = head_volume()
    files = dicom_series(data)
    rng = np.random.default_rng(1)
    shuffled = [files[i] for i in rng.permutation(len(files))]
    series = read_dicom_zip(zip_of(shuffled), LIMITS)
    assert np.array_equal(series.volume.data, data)


def _limits_app(embedded_settings, **limits):
    settings = embedded_settings.model_copy(update=limits)
    upgrade(settings.database_url)
    return build_embedded(settings)


def _series_zip(**kwargs) -> bytes:
    data, _mask = head_volume()
    return zip_of(dicom_series(data, **kwargs))


def _bad_zips() -> dict[str, tuple[bytes, int, str]]:
    data, _mask = head_volume()
    one = dicom_series(data)
    two = [(f"second/{name}", blob) for name, blob in dicom_series(data, series_uid="1.2.3.4.5")]
    missing = [f for k, f in enumerate(dicom_series(data)) if k != 5]
    uneven = dicom_series(data, positions=[10.0 + 3.0 * k + (0.6 if k == 7 else 0.0) for k in range(data.shape[2])])
    rle = Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes()
    ct = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    return {
        "two series": (zip_of(one + two), 422, "mixes 2 series"),
        "path outside": (zip_of([("../../etc/evil.dcm", one[0][1]), *one[1:]]), 422, "outside the archive"),
        "absolute path": (zip_of([("/tmp/evil.dcm", one[0][1])]), 422, "outside the archive"),
        "missing slice": (zip_of(missing), 422, "misses 1 slice"),
        "uneven spacing": (zip_of(uneven), 422, "not uniform"),
        "compressed": (zip_of([("a", rle)]), 422, "RLE Lossless"),
        "not MR": (zip_of([("ct", ct)]), 422, "only MR"),
        "no DICOM": (zip_of([("readme.txt", b"hello")]), 422, "no DICOM images"),
        "broken zip": (b"PK\x03\x04" + b"\x00" * 100, 422, "cannot be read"),
    }


def _bad_niftis() -> dict[str, tuple[bytes, int, str]]:
    data, _mask = head_volume()
    whole = nifti_file(data, AFFINE)
    flat = nib.Nifti1Image(data[:, :, 0], AFFINE).to_bytes()
    four = (NIBABEL_DATA / "example4d.nii.gz").read_bytes()
    return {
        "truncated .nii.gz": (whole[: len(whole) // 2], 422, "cut off"),
        "truncated .nii": (nib.Nifti1Image(data, AFFINE).to_bytes()[:5000], 422, "truncated"),
        "2D NIfTI": (flat, 422, "2D NIfTI"),
        "4D with two volumes": (four, 422, "only 3D volumes"),
    }


def test_bad_volumes_are_4xx_with_a_message_and_store_nothing(embedded) -> None:
    runtime, _app, client = embedded
    for case, (payload, status, words) in {**_bad_zips(), **_bad_niftis()}.items():
        response = client.post("/api/scans", files={"image": ("upload.bin", payload, "application/octet-stream")})
        assert response.status_code == status, (case, response.text)
        assert words in response.json()["detail"], (case, response.json())
    assert _stored(runtime) == (0, 0)


def test_a_mask_on_another_grid_or_not_nifti_is_refused(embedded) -> None:
    runtime, _app, client = embedded
    data, mask = head_volume()
    image = nifti_file(data, AFFINE)
    cases = {
        "other shape": (nifti_file(mask[:, :, :-1].astype(np.uint8), AFFINE), 422, "another grid"),
        "other affine": (nifti_file(mask.astype(np.uint8), np.diag([1.0, 1.0, 3.0, 1.0])), 422, "another grid"),
        "a PNG": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415, "must be a NIfTI"),
    }
    for case, (truth, status, words) in cases.items():
        files = {"image": ("v.nii.gz", image, "application/gzip"), "ground_truth": ("m", truth, "x/y")}
        response = client.post("/api/scans", files=files)
        assert response.status_code == status, (case, response.text)
        assert words in response.json()["detail"], case
    assert _stored(runtime) == (0, 0)


def test_zip_bombs_and_too_many_members_are_refused_before_inflating(embedded_settings) -> None:
    runtime, app = _limits_app(embedded_settings, MAX_ZIP_UNCOMPRESSED_BYTES=5_000_000, MAX_ZIP_MEMBERS=20)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.dcm", b"\x00" * 50_000_000)  # 50 MB of zeros in about 50 kB
    assert len(bomb.getvalue()) < 100_000
    with TestClient(app) as client:
        response = client.post("/api/scans", files={"image": ("a.zip", bomb.getvalue(), "application/zip")})
        assert response.status_code == 413, response.text
        assert "zip bomb" in response.json()["detail"]
        crowd = zip_of([(f"f{i}", b"x") for i in range(21)])
        response = client.post("/api/scans", files={"image": ("b.zip", crowd, "application/zip")})
        assert response.status_code == 413 and "21 files" in response.json()["detail"]
        assert _stored(runtime) == (0, 0)


def test_volume_limits_are_settings(embedded_settings) -> None:
    runtime, app = _limits_app(embedded_settings, MAX_VOLUME_VOXELS=10_000, MAX_VOLUME_SLICES=40)
    data, _mask = head_volume()  # 48 x 40 x 12 = 23,040 voxels, 48 along x
    with TestClient(app) as client:
        for payload in (nifti_file(data, AFFINE), _series_zip()):
            response = client.post("/api/scans", files={"image": ("v", payload, "application/octet-stream")})
            assert response.status_code == 413, response.text
            assert "limit" in response.json()["detail"]
    assert _stored(runtime) == (0, 0)


def test_real_nifti_file_round_trips_through_the_service(embedded) -> None:
    _runtime, _app, client = embedded
    path = NIBABEL_DATA / "anatomical.nii"
    accepted = client.post("/api/scans", files={"image": (path.name, path.read_bytes(), "application/octet-stream")})
    assert accepted.status_code == 202, accepted.text
    scan = wait_final(lambda p: client.get(p).json(), accepted.json()["id"], timeout=120)
    assert scan["status"] == "done" and scan["shape"] == [33, 41, 25] and scan["slices"] == 25
    original = nib.load(path)
    for model in scan["results"]:
        served = nib.Nifti1Image.from_bytes(
            gzip.decompress(client.get(f"/api/scans/{scan['id']}/masks/{model}.nii.gz").content)
        )
        assert served.shape == original.shape
        assert np.allclose(served.affine, original.affine)
        assert served.header["descrip"].item() == b""


def test_a_gzip_that_is_not_nifti_and_volume_routes_on_a_slice_are_clear(embedded) -> None:
    runtime, _app, client = embedded
    response = client.post("/api/scans", files={"image": ("x.gz", gzip.compress(b"hello" * 200), "application/gzip")})
    assert response.status_code == 415, response.text
    assert _stored(runtime) == (0, 0)


def _slice_zip(case: str = "TCGA_CS_4941_19960909", *, masks: bool = True, skip: int | None = None) -> bytes:
    """Slices as the public release names them, in a folder, numbered from 1, masks beside them."""
    data, truth = head_volume(lesions=(((20.0, 18.0, 5.0), 3.0),))
    files = []
    for k in range(data.shape[2]):
        if k == skip:
            continue
        image = Image.fromarray(np.clip(data[:, :, k].T / 4, 0, 255).astype(np.uint8))
        files.append((f"{case}/{case}_{k + 1}.tif", _encoded(image, "TIFF")))
        if masks:
            mask = Image.fromarray(np.where(truth[:, :, k].T, 255, 0).astype(np.uint8))
            files.append((f"{case}/{case}_{k + 1}_mask.tif", _encoded(mask, "TIFF")))
    return zip_of(files)


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_a_zip_of_dataset_slices_is_a_volume_with_its_masks_as_truth(embedded) -> None:
    _runtime, _app, client = embedded
    _data, truth = head_volume(lesions=(((20.0, 18.0, 5.0), 3.0),))
    response = client.post("/api/scans", files={"image": ("case.zip", _slice_zip(), "application/zip")})
    assert response.status_code == 202, response.text
    scan = wait_final(lambda p: client.get(p).json(), response.json()["id"], timeout=120)
    assert scan["kind"] == "volume" and scan["slices"] == 12 and scan["has_ground_truth"] is True
    for k in (0, 5, 11):  # slice k of the viewer is the k-th file by number, as uploaded
        shown = np.asarray(Image.open(io.BytesIO(client.get(scan["links"]["slice_ground_truth"].format(k=k)).content)))
        assert np.array_equal(shown == 255, truth[:, :, k].T), k
    for result in scan["results"].values():
        assert result["detection"]["true_lesions"] == 1
    # The masks may come in their own zip, in the ground-truth field.
    masks_only = zip_of([(n, d) for n, d in _zip_entries(_slice_zip()) if "_mask" in n])
    files = {
        "image": ("case.zip", _slice_zip(masks=False), "application/zip"),
        "ground_truth": ("masks.zip", masks_only, "application/zip"),
    }
    scan = wait_final(lambda p: client.get(p).json(), client.post("/api/scans", files=files).json()["id"], timeout=120)
    assert scan["has_ground_truth"] is True
    assert all(r["detection"]["true_lesions"] == 1 for r in scan["results"].values())


def test_bad_slice_zips_are_refused(embedded) -> None:
    runtime, _app, client = embedded
    mixed = zip_of(
        [(n.replace("/", "/a_"), d) for n, d in _zip_entries(_slice_zip("A", masks=False))]
        + _zip_entries(_slice_zip("B", masks=False))
    )
    cases = {
        "missing slice": (_slice_zip(skip=4), "misses slice number(s) 5"),
        "two cases": (mixed, "mixes 2 cases"),
    }
    for case, (payload, words) in cases.items():
        response = client.post("/api/scans", files={"image": ("c.zip", payload, "application/zip")})
        assert response.status_code == 422, (case, response.text)
        assert words in response.json()["detail"], (case, response.json())
    assert _stored(runtime) == (0, 0)


def _zip_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def test_a_volume_over_the_upload_limit_is_413(embedded_settings) -> None:
    runtime, app = _limits_app(embedded_settings, MAX_VOLUME_UPLOAD_BYTES=40_000)
    data, _mask = head_volume()
    payload = nifti_file(data, AFFINE, gz=False)  # 46 kB
    with TestClient(app) as client:
        response = client.post("/api/scans", files={"image": ("v.nii", payload, "application/octet-stream")})
        assert response.status_code == 413, response.text
        assert "40,000 bytes" in response.json()["detail"]
    assert _stored(runtime) == (0, 0)
