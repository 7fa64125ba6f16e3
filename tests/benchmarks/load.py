"""Load: 200 uploads at concurrency 16 against the RabbitMQ stack, with one and then two workers per model.

``python -m tests.benchmarks.load`` (``make bench-load``) prints throughput, p50/p95 upload-to-result latency,
and the number of lost and duplicated results (both must be 0), counted in Postgres. Loopback only, bounded in
count and time; the same backing services and environment variables as ``tests.benchmarks.pipeline``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from brainmets.db import make_engine, make_sessionmaker
from brainmets.db.scans import count_results
from brainmets.networks import MODEL_NAMES
from tests.benchmarks.pipeline import SLICE_SIZE, artifacts, rabbit_stack, synthetic_png


def upload_and_wait(
    client: httpx.Client, gateway: str, results: str, png: bytes, deadline: float
) -> tuple[str, float | None]:
    start = time.perf_counter()
    response = client.post(f"{gateway}/api/scans", files={"image": ("load.png", png, "image/png")})
    response.raise_for_status()
    scan_id = response.json()["id"]
    while time.monotonic() < deadline:
        if client.get(f"{results}/api/scans/{scan_id}").json()["status"] == "done":
            return scan_id, time.perf_counter() - start
        time.sleep(0.05)
    return scan_id, None


def run_load(
    gateway: str,
    results: str,
    database_url: str,
    headers: dict[str, str],
    n: int,
    concurrency: int,
    size: int,
    timeout: float,
) -> dict:
    pngs = [synthetic_png(size, seed) for seed in range(n)]
    deadline = time.monotonic() + timeout
    start = time.perf_counter()
    with (
        ThreadPoolExecutor(concurrency) as pool,
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=64), headers=headers) as client,
    ):
        outcomes = list(pool.map(lambda png: upload_and_wait(client, gateway, results, png, deadline), pngs))
    elapsed = time.perf_counter() - start
    latencies = [seconds for _, seconds in outcomes if seconds is not None]
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        counts = count_results(session, [scan_id for scan_id, _ in outcomes])
    engine.dispose()
    expected = {(scan_id, model) for scan_id, _ in outcomes for model in MODEL_NAMES}
    return {
        "uploads": n,
        "concurrency": concurrency,
        "throughput_scans_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(1000 * statistics.median(latencies)) if latencies else None,
        "p95_ms": round(1000 * float(np.percentile(latencies, 95))) if latencies else None,
        "not_done_in_time": n - len(latencies),
        "lost": len(expected - set(counts)),
        "duplicated": sum(c - 1 for c in counts.values() if c > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument("--workers", default="1,2", help="workers per model, one run each")
    args = parser.parse_args()
    args.n = max(1, min(args.n, 1000))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder, description = artifacts(tmp)
        size = args.size or SLICE_SIZE
        print(f"models: {description}; slices {size}x{size}")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        for workers in (int(w) for w in args.workers.split(",")):
            with rabbit_stack({"ARTIFACTS_DIR": str(folder)}, tmp, workers) as (
                gateway,
                results,
                database_url,
                headers,
            ):
                figures = run_load(
                    gateway, results, database_url, headers, args.n, args.concurrency, size, args.timeout
                )
            print(f"{workers} worker(s) per model: " + json.dumps(figures))
        print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
