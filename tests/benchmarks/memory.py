"""Memory per replica: the resident set of the gateway, the results API and a worker, on the RabbitMQ stack.

``python -m tests.benchmarks.memory [--n 20]`` (``make bench-memory``) starts the stack as
``tests.benchmarks.pipeline`` does (one worker per model), reads each process's ``VmRSS`` from ``/proc`` once
every role answers, then again after ``--n`` uploads that are followed to both results and their images. It also
prints what importing torch first would add to an API process, the cost the API roles no longer pay.
``--volume-slices N`` instead measures the gateway's peak resident set while it accepts one zipped DICOM study
of ``N`` 512 x 512 slices. Linux only (``/proc``); the same backing services and environment variables as the
pipeline benchmark.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np

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


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident set (``VmRSS``) or its peak so far (``VmHWM``) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} for process {pid}")


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


def dicom_study(path: Path, slices: int, side: int = 512) -> int:
    """A zipped axial MR series of ``slices`` slices of ``side`` x ``side`` (int16, stored uncompressed, as
    scanners export them) at ``path``, written one slice at a time; returns its size in bytes."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    base.SeriesInstanceUID = generate_uid()
    base.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    base.PixelSpacing = [0.5, 0.5]
    base.Rows = base.Columns = side
    base.BitsAllocated, base.BitsStored, base.HighBit, base.PixelRepresentation = 16, 16, 15, 1
    rng = np.random.default_rng(0)
    y, x = np.ogrid[:side, :side]
    head = ((x - side / 2) / (0.4 * side)) ** 2 + ((y - side / 2) / (0.45 * side)) ** 2 <= 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for k in range(slices):
            base.SOPInstanceUID = generate_uid()
            base.file_meta.MediaStorageSOPInstanceUID = base.SOPInstanceUID
            base.ImagePositionPatient = [-128.0, -128.0, float(k)]
            base.InstanceNumber = k + 1
            plane = np.where(head, 400, 0) + rng.integers(0, 40, (side, side))
            base.PixelData = plane.astype(np.int16).tobytes()
            buffer = io.BytesIO()
            base.save_as(buffer, enforce_file_format=True)
            archive.writestr(f"series/IM{k:05d}", buffer.getvalue())
    return path.stat().st_size


def volume_upload_peak(tmp: Path, slices: int) -> dict:
    """The gateway's peak resident set while it accepts one zipped DICOM study (no workers run, so the figure is
    the upload's alone: parse, de-identify, encode, store)."""
    study = tmp / "study.zip"
    size = dicom_study(study, slices)
    env = {"ARTIFACTS_DIR": str(tmp / "none"), "MAX_VOLUME_UPLOAD_BYTES": str(1024**3)}
    with rabbit_stack(env, tmp, workers=0) as (gateway, _results, _database_url, headers):
        pid = children_by_role()["gateway"][0]
        before = rss_mib(pid, "VmHWM")
        with study.open("rb") as handle, httpx.Client(timeout=600, headers=headers) as client:
            started = time.perf_counter()
            files = {"image": ("study.zip", handle, "application/zip")}
            client.post(f"{gateway}/api/scans", files=files).raise_for_status()
            seconds = time.perf_counter() - started
        return {
            "study": f"{slices} x 512 x 512 DICOM, {size / 2**20:.0f} MiB zipped",
            "gateway_peak_mib_before": before,
            "gateway_peak_mib_after": rss_mib(pid, "VmHWM"),
            "upload_to_202_s": round(seconds, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="uploads between the two readings")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--volume-slices", type=int, default=0, help="instead: the gateway's peak for a DICOM study of this many slices"
    )
    args = parser.parse_args()
    if args.volume_slices:
        with tempfile.TemporaryDirectory() as tmp_name:
            print(json.dumps(volume_upload_peak(Path(tmp_name), args.volume_slices), indent=2))
        return
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
