"""``training.evaluate`` on NIfTI cases: both layouts found, sliced as the workers slice them, and scored."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from tests.services.artifacts import make_tiny_artifacts
from tests.services.volumes import head_volume
from training import evaluate
from training.nifti_cases import discover_nifti_cases, read_nifti_case

LAS = np.array([[-1.0, 0, 0, 20.0], [0, 1.0, 0, -10.0], [0, 0, 2.0, 0.0], [0, 0, 0, 1]])


def _write(folder: Path, image_name: str, mask_name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True)
    image, mask = head_volume(shape=(40, 36, 6 + seed), lesions=(((15.0 + seed, 14.0, 3.0), 2.5),))
    nib.save(nib.Nifti1Image(image, LAS), folder / image_name)
    nib.save(nib.Nifti1Image(mask.astype(np.uint8) * 4, LAS), folder / mask_name)  # label 4: still lesion
    return image, mask


def test_both_layouts_are_found_and_sliced_like_the_workers(tmp_path: Path) -> None:
    image, mask = _write(tmp_path / "data" / "site" / "BraTS-001", "BraTS-001_flair.nii.gz", "BraTS-001_seg.nii.gz", 0)
    _write(tmp_path / "data" / "case-2", "image.nii", "mask.nii", 1)
    (tmp_path / "data" / "lonely").mkdir()
    nib.save(nib.Nifti1Image(image, LAS), tmp_path / "data" / "lonely" / "image.nii.gz")  # no mask: not a case

    cases = discover_nifti_cases(tmp_path / "data")
    assert [c.patient_id for c in cases] == ["BraTS-001", "case-2"]
    volume = read_nifti_case(cases[0])
    canonical = np.asarray(nib.as_closest_canonical(nib.Nifti1Image(image, LAS)).dataobj)
    assert len(volume.images) == 6
    for k in range(6):
        # Inferior first; anterior at the top and the patient's right on the left, as the service shows them.
        assert np.array_equal(volume.images[k], canonical[::-1, ::-1, k].T.astype(np.float32))
    assert sum(int(m.sum()) for m in volume.masks) == int(mask.sum())


def test_evaluate_scores_nifti_cases(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "a", "image.nii.gz", "mask.nii.gz", 0)
    _write(tmp_path / "data" / "b", "b_flair.nii.gz", "b_seg.nii.gz", 1)
    artifacts = make_tiny_artifacts(tmp_path / "artifacts")
    out = tmp_path / "report"
    evaluate.main(
        ["--data", str(tmp_path / "data"), "--out", str(out), "--weights-dir", str(artifacts), "--examples", "0"]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    for name in ("unetpp", "attention_unet"):
        m = metrics["models"][name]
        assert m["patients"] == 2 and m["slices"] == 6 + 7
        assert [r["patient"] for r in m["per_patient"]] == ["a", "b"]
