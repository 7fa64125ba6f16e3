"""The GPU run's pieces that can run here: the CUDA-path comparison (on the CPU against itself) and the job's
shell, which must parse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from tests.services.artifacts import make_tiny_artifacts
from tests.synthetic import make_slice
from training.data import PatientVolume
from training.gpu.cuda_path import compare

REPO = Path(__file__).resolve().parents[2]


def test_the_comparison_finds_the_same_masks_on_the_same_device(tmp_path: Path) -> None:
    artifact = make_tiny_artifacts(tmp_path / "artifacts") / "attention_unet"
    rng = np.random.default_rng(0)
    volumes = [
        PatientVolume(f"p{k}", *map(list, zip(*[make_slice(rng, 64) for _ in range(4)], strict=True))) for k in range(2)
    ]
    volumes = [PatientVolume(v.patient_id, [i.astype(np.float32) for i in v.images], v.masks) for v in volumes]
    result = compare(artifact, volumes, device="cpu")
    assert result["patients"] == 2 and result["mask_dice_gpu_against_cpu_min"] == 1.0
    assert result["gpu_ms_per_slice"] > 0 and result["cpu_ms_per_slice"] > 0


def test_the_gpu_scripts_parse() -> None:
    for script in ("training/gpu/job.sh", "training/gpu/prepare.sh"):
        subprocess.run(["bash", "-n", script], cwd=REPO, check=True)
