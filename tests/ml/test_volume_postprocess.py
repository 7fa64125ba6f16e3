"""3D post-processing of volumes: chosen on validation volumes by the calibration, applied by the volume
workers and the evaluation, never at the cost of a lesion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from brainmets.inference import Segmenter
from brainmets.inference.postprocess import postprocess_volume
from tests.services.artifacts import make_tiny_artifacts
from tests.services.volumes import head_volume
from training import calibrate, postprocess_search
from training.data import PatientVolume
from training.evaluation import evaluate_patient

SHAPE = (10, 40, 40)


def _ball(centre: tuple[int, int, int], radius: float) -> np.ndarray:
    grid = np.indices(SHAPE)
    return sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2


def _patient(seed: int, small_truth: bool) -> tuple[np.ndarray, np.ndarray]:
    """A predicted mask that finds every true lesion, plus a few false 1-voxel specks."""
    rng = np.random.default_rng(seed)
    truth = _ball((5, 20, 20), 3.0)
    if small_truth:
        truth |= _ball((5, 8, 32), 1.0)  # 7 voxels
    pred = truth.copy()
    for _ in range(3):
        z, y, x = rng.integers(0, 10), rng.integers(30, 40), rng.integers(0, 8)
        pred[z, y, x] = True
    return pred, truth


def test_false_specks_go_and_the_size_stays_below_every_true_lesion() -> None:
    cases = [_patient(k, small_truth=False) for k in range(3)]
    best, grid = postprocess_search.search_volume([c[0] for c in cases], [c[1] for c in cases])
    assert best["min_component_voxels"] > 1 and best["lesion_sensitivity"] == 1.0
    assert best["false_positive_lesions_per_patient"] == 0
    assert [g["min_component_voxels"] for g in grid] == list(postprocess_search.MIN_VOXELS)


def test_a_small_true_lesion_is_never_removed() -> None:
    cases = [_patient(k, small_truth=True) for k in range(3)]
    best, _ = postprocess_search.search_volume([c[0] for c in cases], [c[1] for c in cases])
    assert best["lesion_sensitivity"] == 1.0
    assert best["min_component_voxels"] <= 7
    assert postprocess_volume(cases[0][0], best["min_component_voxels"])[cases[0][1]].all()


def _with_card(tmp_path: Path, **update: object) -> Path:
    root = tmp_path / "artifacts"
    shutil.copytree(make_tiny_artifacts(tmp_path / "tiny"), root)
    for model in ("unetpp", "attention_unet"):
        path = root / model / "model_card.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **update}))
    return root


def test_evaluation_applies_the_cards_3d_step(tmp_path: Path) -> None:
    # The untrained tiny models call everything lesion; a 3D step larger than the volume removes it all.
    artifacts = _with_card(tmp_path, min_component_voxels=10**9)
    data, truth = head_volume()
    segmenter = Segmenter.load(artifacts / "unetpp", device="cpu")
    images = [data[:, :, k].astype(np.float32) for k in range(data.shape[2])]
    row, _counts, _seconds = evaluate_patient(
        segmenter, PatientVolume("p", images, [truth[:, :, k] for k in range(12)])
    )
    assert row["predicted_volume_px"] == 0
    plain = Segmenter.load(make_tiny_artifacts(tmp_path / "plain") / "unetpp", device="cpu")
    assert (
        evaluate_patient(plain, PatientVolume("p", images, [truth[:, :, k] for k in range(12)]))[0][
            "predicted_volume_px"
        ]
        > 0
    )


def test_calibration_writes_the_3d_choice_into_the_card(tmp_path: Path) -> None:
    artifact = make_tiny_artifacts(tmp_path / "tiny") / "unetpp"
    volumes = []
    for seed in range(2):
        data, truth = head_volume(shape=(32, 32, 6), lesions=(((12.0 + seed, 14.0, 3.0), 2.0),))
        volumes.append(
            PatientVolume(
                f"p{seed}", [data[:, :, k].astype(np.float32) for k in range(6)], list(truth.transpose(2, 0, 1))
            )
        )
    summary = calibrate.calibrate(artifact, volumes, device="cpu")
    chosen = summary["postprocessing_search"]["volume"]["chosen"]
    assert chosen["min_component_voxels"] in postprocess_search.MIN_VOXELS
    card = json.loads((artifact / "model_card.json").read_text())
    assert card["min_component_voxels"] == chosen["min_component_voxels"]
    # Beside the in-sample figures, each patient scored with the setting chosen on the other one.
    held_out = card["validation_metrics"]["postprocessing_search"]["held_out"]
    assert held_out["patients"] == 2 and set(held_out["per_patient_dice"]) == {"p0", "p1"}
    assert sum(held_out["settings_chosen"].values()) == 2


def test_no_volume_setting_can_drop_a_component_the_slice_rule_keeps() -> None:
    # A 3D component of more voxels than the cap may lie on one slice, where the 50-pixel rule protects it.
    assert max(postprocess_search.MIN_VOXELS) <= postprocess_search.MAX_MIN_COMPONENT_PIXELS
