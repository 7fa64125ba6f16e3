"""The volume case of ``python -m tests.benchmarks.pipeline``: a 155-slice 240 x 240 NIfTI study (the BraTS
grid), upload to both results, and slices per second per model."""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from pathlib import Path

import httpx
import nibabel as nib
import numpy as np

from brainmets.networks import MODEL_NAMES
from tests.benchmarks.pipeline import embedded_app, rabbit_stack, run_one

SHAPE = (240, 240, 155)


def synthetic_volume(seed: int) -> bytes:
    """A head-like ellipsoid with three bright spherical lesions, 1 mm isotropic, as .nii.gz."""
    rng = np.random.default_rng(seed)
    x, y, z = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    head = ((x - 120) / 80.0) ** 2 + ((y - 120) / 100.0) ** 2 + ((z - 77) / 65.0) ** 2 <= 1
    image = np.where(head, 400.0, 0.0)
    for _ in range(3):
        cx, cy, cz = rng.uniform(80, 160), rng.uniform(80, 160), rng.uniform(40, 110)
        r = rng.uniform(4, 12)
        image += np.where((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= r**2, 500.0, 0.0)
    image += rng.normal(0, 10, SHAPE) * head
    volume = nib.Nifti1Image(np.clip(image, 0, None).astype(np.int16), np.diag([1.0, 1.0, 1.0, 1.0]))
    return gzip.compress(volume.to_bytes(), compresslevel=6)


def measure_volume(gateway: str, results: str, n: int, timeout: float, headers: dict[str, str] | None = None) -> dict:
    """``n`` volumes one at a time: upload-to-both-results p50 and each model's slices per second."""
    data = synthetic_volume(0)
    deadline = time.monotonic() + timeout
    latencies, rates = [], {m: [] for m in MODEL_NAMES}
    failed = 0
    with httpx.Client(timeout=300, headers=headers) as client:
        for _ in range(n):
            upload = ("bench.nii.gz", "application/gzip")
            seconds, body = run_one(client, gateway, results, data, deadline, upload=upload, poll_s=0.1)
            latencies.append(seconds)
            for model, result in body["results"].items():
                if result["status"] != "done":
                    failed += 1
                elif result["inference_ms"]:
                    rates[model].append(SHAPE[2] / (result["inference_ms"] / 1000.0))
    return {
        "volume": "x".join(map(str, SHAPE)),
        "upload_bytes": len(data),
        "p50_s": round(statistics.median(latencies), 1),
        "slices_per_s": {m: round(statistics.median(v), 1) for m, v in rates.items() if v},
        "failed": failed,
    }


def bench_volume(env: dict[str, str], tmp: Path, args: argparse.Namespace, where: str) -> dict:
    """The volume case in the embedded mode (``where`` "embedded") or on RabbitMQ with one worker per model."""
    n = max(1, min(args.n, args.volumes))
    if where == "embedded":
        with embedded_app(env, tmp, "embedded-volume") as url:
            return measure_volume(url, url, n, args.timeout)
    with rabbit_stack(env, tmp, 1) as (gateway, results, _database_url, headers):
        return measure_volume(gateway, results, n, args.timeout, headers)
