"""Memory per replica: the resident set of the gateway, the results API and a worker, on the RabbitMQ stack.

``python -m tests.benchmarks.memory [--n 20]`` (``make bench-memory``) starts the stack as
``tests.benchmarks.pipeline`` does (one worker per model), reads each process's ``VmRSS`` from ``/proc`` once
every role answers, then again after ``--n`` uploads that are followed to both results and their images. It also
prints what importing torch first would add to an API process, the cost the API roles no longer pay.
Linux only (``/proc``); the same backing services and environment variables as the pipeline benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from brainmets.catalog import MODEL_NAMES
from tests.benchmarks.pipeline import ROOT, SLICE_SIZE, artifacts, rabbit_stack, synthetic_png

ROLES = {"services.gateway": "gateway", "services.results_api": "results API", "services.worker": "worker"}
# A fresh interpreter's resident set after importing the API app, with or without torch imported first.
IMPORT_PROBE = """
import sys
if sys.argv[1] == "torch":
    import torch
import services.gateway.main, services.results_api.main
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")))
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def children_by_role() -> dict[str, list[int]]:
    """This process's children that run a BrainMets role, by role."""
    found: dict[str, list[int]] = {role: [] for role in ROLES.values()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            words = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
        if parent != os.getpid() or b"-m" not in words:
            continue
        module = words[words.index(b"-m") + 1].decode()
        if module in ROLES:
            found[ROLES[module]].append(int(stat.parent.name))
    return found


def snapshot() -> dict[str, list[float]]:
    return {role: [rss_mib(pid) for pid in pids] for role, pids in children_by_role().items()}


def exercise(gateway: str, results: str, headers: dict[str, str], n: int, timeout: float) -> None:
    """Uploads followed to both results, then every image of each scan fetched, as the web app does."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=60, headers=headers) as client:
        for seed in range(n):
            png = synthetic_png(SLICE_SIZE, seed)
            scan = client.post(f"{gateway}/api/scans", files={"image": ("m.png", png, "image/png")})
            scan.raise_for_status()
            url = f"{results}/api/scans/{scan.json()['id']}"
            while client.get(url).json()["status"] not in ("done", "failed"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the scans did not finish in time")
                time.sleep(0.05)
            for path in ("image", *(f"masks/{model}" for model in MODEL_NAMES)):
                client.get(f"{url}/{path}").raise_for_status()
            client.get(f"{results}/api/models").raise_for_status()


def import_cost_mib() -> dict[str, float]:
    def rss(first: str) -> float:
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE, first], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return round(int(done.stdout) / 1024, 1)

    return {"api_app_imported": rss("none"), "with_torch_imported_first": rss("torch")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="uploads between the two readings")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root, what = artifacts(tmp)
        env = {"ARTIFACTS_DIR": str(root)}
        with rabbit_stack(env, tmp, workers=1) as (gateway, results, _database_url, headers):
            started = snapshot()
            exercise(gateway, results, headers, args.n, args.timeout)
            after = snapshot()
    report = {
        "models": what,
        "rss_mib_after_start": started,
        f"rss_mib_after_{args.n}_scans": after,
        "import_rss_mib": import_cost_mib(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
