"""Upload-to-both-results latency and throughput: embedded mode, and RabbitMQ with 1 and 2 workers per model;
with ``--modes volume-embedded,volume-rabbit``, the same for whole NIfTI volumes (``tests.benchmarks.volume``).

``python -m tests.benchmarks.pipeline`` (``make bench-services``) prints figures (it is not a test). Everything
runs on loopback, bounded in count (``--n``) and time (``--timeout``). It uses the trained artifacts under
``ARTIFACTS_DIR`` when both exist, else untrained stand-ins of the same architecture (and says so). The RabbitMQ
runs need Postgres, RabbitMQ and an S3 server:
``BENCH_POSTGRES_URL`` (admin URL; a scratch database is created and dropped), ``BENCH_AMQP_URL`` (a scratch
queue prefix is used and deleted) and ``BENCH_S3_ENDPOINT`` (default: moto's server on 127.0.0.1:9000, as
started by ``.ci/services.sh``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from brainmets.db import AccountRole, make_engine, make_sessionmaker
from brainmets.inference import ModelCard, find_artifacts, save_artifact
from brainmets.inference.artifact import read_card
from brainmets.networks import MODEL_NAMES, build_model
from services.core.auth import issue_token
from tests.services.endpoints import delete_topology, fresh_database

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
S3_ENDPOINT = os.environ.get("BENCH_S3_ENDPOINT", "127.0.0.1:9000")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def synthetic_png(size: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    head = ((yy - 0.5) / 0.42) ** 2 + ((xx - 0.5) / 0.35) ** 2 <= 1
    ly, lx, r = 0.5 + rng.uniform(-0.1, 0.1), 0.5 + rng.uniform(-0.1, 0.1), rng.uniform(0.04, 0.08)
    lesion = ((yy - ly) ** 2 + (xx - lx) ** 2) <= r**2
    image = np.clip(head * 90 + lesion * 120 + rng.normal(0, 4, head.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


# The architecture of the CPU training preset, for timing runs before the trained models are committed.
STAND_IN_NETWORK = {"widths": [16, 32, 64, 128, 256]}
STAND_IN_INPUT = (128, 128)
# The public dataset's slices are 256x256; the models resize them to their input size.
SLICE_SIZE = 256


def artifacts(tmp: Path) -> tuple[Path, str]:
    """The artifacts folder and a description of what it holds."""
    configured = os.environ.get("ARTIFACTS_DIR")
    found = find_artifacts(configured)
    if all(m in found for m in MODEL_NAMES):
        root = Path(configured) if configured else found[MODEL_NAMES[0]].parent
        versions = ", ".join(f"{m} {read_card(found[m]).version}" for m in MODEL_NAMES)
        return root, f"trained artifacts ({versions})"
    for name in MODEL_NAMES:
        card = ModelCard(
            name=name, architecture=name, version="stand-in", network=STAND_IN_NETWORK, input_size=STAND_IN_INPUT
        )
        save_artifact(build_model(name, **STAND_IN_NETWORK), card, tmp / "artifacts" / name)
    return tmp / "artifacts", (
        "UNTRAINED stand-ins with the CPU preset's architecture (widths 16-256, input 128x128): "
        "no trained artifacts found, so timings only"
    )


class Service:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log.open("wb")
        full = {**os.environ, **env, "OMP_NUM_THREADS": "1", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, env=full, stdout=self.log, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run_one(
    client: httpx.Client,
    gateway: str,
    results: str,
    png: bytes,
    deadline: float,
    *,
    upload: tuple[str, str] = ("bench.png", "image/png"),
    poll_s: float = 0.01,
) -> tuple[float, dict]:
    """Upload ``png`` (or another file: ``upload`` is its name and type) and poll until its scan is final."""
    start = time.perf_counter()
    name, content_type = upload
    response = client.post(f"{gateway}/api/scans", files={"image": (name, png, content_type)})
    response.raise_for_status()
    scan_id = response.json()["id"]
    while time.monotonic() < deadline:
        body = client.get(f"{results}/api/scans/{scan_id}").json()
        if body["status"] in ("done", "failed"):
            return time.perf_counter() - start, body
        time.sleep(poll_s)
    raise TimeoutError("the run hit its time limit")


def measure(
    gateway: str,
    results: str,
    n: int,
    size: int,
    concurrency: int,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> dict:
    pngs = [synthetic_png(size, seed) for seed in range(n)]
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30, headers=headers) as client:
        run_one(client, gateway, results, pngs[0], deadline)  # warm-up: first inference loads kernels
        latencies, bodies = [], []
        for png in pngs:  # idle queue: one scan at a time
            seconds, body = run_one(client, gateway, results, png, deadline)
            latencies.append(seconds)
            bodies.append(body)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool, httpx.Client(timeout=60, headers=headers) as client:
        burst = list(pool.map(lambda png: run_one(client, gateway, results, png, deadline), pngs))
    elapsed = time.perf_counter() - start
    failed = sum(body["status"] != "done" for _, body in burst) + sum(b["status"] != "done" for b in bodies)
    inference = {
        m: [b["results"][m]["inference_ms"] for b in bodies if b["results"][m]["inference_ms"]] for m in MODEL_NAMES
    }
    return {
        "p50_ms": round(1000 * statistics.median(latencies)),
        "p95_ms": round(1000 * float(np.percentile(latencies, 95))),
        "throughput_scans_per_s": round(n / elapsed, 2),
        "failed": failed,
        "inference_ms_p50": {m: round(statistics.median(v), 1) for m, v in inference.items() if v},
    }


@contextlib.contextmanager
def embedded_app(env: dict[str, str], tmp: Path, name: str = "embedded") -> Iterator[str]:
    """The embedded mode on a free port (its files under ``tmp / name``); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = Service(
        ["services.embedded"],
        {**env, "PORT": str(port), "VAR_DIR": str(tmp / name), "UPLOADS_PER_MINUTE": "1000000"},
        tmp / f"{name}.log",
    )
    try:
        wait_http(f"{url}/healthz")
        yield url
    finally:
        service.stop()


def bench_embedded(env: dict[str, str], tmp: Path, args: argparse.Namespace) -> dict:
    with embedded_app(env, tmp) as url:
        return measure(url, url, args.n, args.size, args.concurrency, args.timeout)


@contextlib.contextmanager
def rabbit_stack(env: dict[str, str], tmp: Path, workers: int) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """Gateway, results API and ``workers`` workers per model on a scratch database and queue prefix."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    with fresh_database(POSTGRES_URL, "brainmets_bench") as database_url:
        service_env = {
            **env,
            "DATABASE_URL": database_url,
            "AMQP_URL": AMQP_URL,
            "AMQP_PREFIX": prefix,
            "S3_ENDPOINT": S3_ENDPOINT,
            "S3_BUCKET": f"bench-{prefix}",
            "S3_ACCESS_KEY": "bench",
            "S3_SECRET_KEY": "bench",
            "S3_REGION": "us-east-1",
            # Capacity is measured here, not the per-account rate limit.
            "UPLOADS_PER_MINUTE": "1000000",
            "AUTH_ENABLED": "true",
        }
        subprocess.run(
            [sys.executable, "-m", "brainmets.db.migrate"],
            cwd=ROOT,
            env={**os.environ, **service_env},
            check=True,
            capture_output=True,
        )
        gport, rport = free_port(), free_port()
        services = [
            Service(["services.gateway", "--port", str(gport), "--no-migrate"], service_env, tmp / f"gw-{workers}.log"),
            Service(
                ["services.results_api", "--port", str(rport), "--no-migrate"], service_env, tmp / f"res-{workers}.log"
            ),
        ]
        for model in MODEL_NAMES:
            for k in range(workers):
                services.append(
                    Service(["services.worker"], {**service_env, "MODEL_NAME": model}, tmp / f"{model}-{k}.log")
                )
        try:
            wait_http(f"http://127.0.0.1:{gport}/healthz")
            wait_http(f"http://127.0.0.1:{rport}/healthz")
            time.sleep(5.0)  # workers load their models
            yield f"http://127.0.0.1:{gport}", f"http://127.0.0.1:{rport}", database_url, bench_token(database_url)
        finally:
            for service in reversed(services):
                service.stop()
            delete_topology(AMQP_URL, prefix, MODEL_NAMES)


def bench_rabbit(env: dict[str, str], tmp: Path, args: argparse.Namespace, workers: int) -> dict:
    with rabbit_stack(env, tmp, workers) as (gateway, results, _database_url, headers):
        return measure(gateway, results, args.n, args.size, args.concurrency, args.timeout, headers)


def bench_token(database_url: str) -> dict[str, str]:
    """The stack runs with sign-in, as in production: the benchmark uses its own account."""
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        token = issue_token(session, "benchmark", AccountRole.USER.value)
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="scans per measurement (latency and throughput each)")
    parser.add_argument("--size", type=int, default=None, help="slice side in pixels (default 256, the dataset's)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel uploads in the throughput burst")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per mode")
    parser.add_argument("--volumes", type=int, default=3, help="volumes per volume measurement")
    parser.add_argument(
        "--modes", default="embedded,rabbit1,rabbit2", help="also volume-embedded, volume-rabbit (155x240x240 NIfTI)"
    )
    args = parser.parse_args()
    args.n = max(2, min(args.n, 200))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder, description = artifacts(tmp)
        args.size = args.size or SLICE_SIZE
        env = {"ARTIFACTS_DIR": str(folder)}
        print(f"models: {description}; slices {args.size}x{args.size}; {args.n} scans per measurement")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        figures = {}
        for mode in args.modes.split(","):
            if mode == "embedded":
                figures[mode] = bench_embedded(env, tmp, args)
            elif mode.startswith("volume-"):
                # The volume case builds on this module's helpers, so it is imported here, not at the top.
                from tests.benchmarks.volume import bench_volume

                figures[mode] = bench_volume(env, tmp, args, mode.removeprefix("volume-"))
            elif mode.startswith("rabbit"):
                figures[mode] = bench_rabbit(env, tmp, args, workers=int(mode.removeprefix("rabbit")))
            print(f"{mode:9s} " + json.dumps(figures[mode]))
        print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
