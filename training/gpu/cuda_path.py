"""The workers' prediction path on CUDA: each published artifact loaded as a worker loads it (``Segmenter``) on the
GPU and on the CPU, a few validation patients predicted on both, and the masks compared.

``python -m training.gpu.cuda_path --data DIR --split FILE [--patients 3] [--out FILE]``

Where no GPU is present it says so and compares nothing, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainmets.inference import Segmenter, find_artifacts
from brainmets.metrics import confusion, scores
from training.data import PatientVolume, Split, read_subset


def _predict(segmenter: Segmenter, volumes: list[PatientVolume]) -> tuple[list[np.ndarray], float]:
    started = time.perf_counter()
    masks = [segmenter.volume_mask(segmenter.predict_volume(v.images)) for v in volumes]
    slices = sum(len(v.images) for v in volumes)
    return masks, 1000 * (time.perf_counter() - started) / slices


def compare(artifact: Path, volumes: list[PatientVolume], device: str = "cuda") -> dict[str, Any]:
    """Masks on ``device`` against masks on the CPU, and the time a slice takes on each."""
    on_gpu = Segmenter.load(artifact, device=device)
    _predict(on_gpu, volumes[:1])  # warm-up: kernels chosen and compiled once
    gpu_masks, gpu_ms = _predict(on_gpu, volumes)
    cpu_masks, cpu_ms = _predict(Segmenter.load(artifact, device="cpu"), volumes)
    agreement = [scores(confusion(g, c))["dice"] for g, c in zip(gpu_masks, cpu_masks, strict=True)]
    return {
        "version": on_gpu.card.version,
        "patients": len(volumes),
        "gpu_ms_per_slice": gpu_ms,
        "cpu_ms_per_slice": cpu_ms,
        "mask_dice_gpu_against_cpu_min": float(min(agreement)),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--split", required=True, type=Path)
    p.add_argument("--weights-dir", type=Path, help="default: the published artifacts")
    p.add_argument("--patients", type=int, default=3)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result: dict[str, Any] = {"cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        result["gpu"] = torch.cuda.get_device_name(0)
        volumes = read_subset(args.data, Split.load(args.split).val[: args.patients])
        for name, folder in find_artifacts(args.weights_dir).items():
            result[name] = compare(folder, volumes)
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
