"""``/metrics`` of the embedded app (everything in one process), request ids, and JSON log lines.

Metrics are process-wide, so each test compares a scrape before with one after what it does.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from brainmets.catalog import MODEL_NAMES
from brainmets.db import OutboxMessage, Scan
from brainmets.db.scans import add_scan
from brainmets.logcontext import log_context
from brainmets.messaging import JobMessage
from services.core.logging import configure_logging
from tests.services.polling import wait_final, wait_for
from tests.services.synthetic import upload_files
from tests.services.telemetry_support import Samples, parse, value
from tests.services.volumes import head_volume, nifti_file


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def upload_until_counted(client: TestClient, files: dict, **request: Any) -> tuple[str, Samples, Samples]:
    """Upload for every model, wait until its results are done and both done jobs are counted; returns the scan
    id and the scrapes before and after."""
    before = scrape(client)
    accepted = client.post("/api/scans", files=files, **request)
    assert accepted.status_code == 202, accepted.text
    scan_id = accepted.json()["id"]
    assert wait_final(lambda path: client.get(path).json(), scan_id, timeout=120)["status"] == "done"

    def counted() -> Samples | None:
        after = scrape(client)
        done = [delta(before, after, "brainmets_jobs_total", model=m, outcome="done") for m in MODEL_NAMES]
        return after if done == [1.0] * len(MODEL_NAMES) else None

    return scan_id, before, wait_for(counted, timeout=10, what="both done jobs to be counted")


def test_metrics_after_one_upload_count_the_scan_both_inferences_and_both_done_jobs(embedded) -> None:
    _runtime, _app, client = embedded
    scan_id, before, after = upload_until_counted(client, upload_files(seed=41))
    assert delta(before, after, "brainmets_scans_total", kind="slice") == 1
    for model in MODEL_NAMES:
        assert delta(before, after, "brainmets_inference_seconds_count", model=model) == 1
        assert delta(before, after, "brainmets_inference_seconds_sum", model=model) > 0
        assert delta(before, after, "brainmets_job_latency_seconds_count", model=model) == 1
        for outcome in ("retried", "failed", "dead_lettered"):
            assert delta(before, after, "brainmets_jobs_total", model=model, outcome=outcome) == 0
        assert value(after, "brainmets_worker_connected", model=model) == 1
    assert value(after, "brainmets_outbox_pending") == 0
    # Requests are counted by route template; the scan id never becomes a label value.
    assert delta(before, after, "brainmets_http_requests_total", method="POST", route="/api/scans", status="202") == 1
    assert delta(before, after, "brainmets_http_requests_total", method="GET", route="/api/scans/{scan_id}",
                 status="200") >= 1  # fmt: skip
    assert scan_id not in client.get("/metrics").text


def test_a_volume_upload_counts_as_a_volume_and_its_jobs_like_slice_jobs(embedded) -> None:
    runtime, _app, client = embedded
    data, truth = head_volume(lesions=(((20.0, 18.0, 6.0), 3.0),))
    affine = np.diag([1.0, 1.0, 2.5, 1.0])
    files = {
        "image": ("head.nii.gz", nifti_file(data, affine), "application/gzip"),
        "ground_truth": ("truth.nii.gz", nifti_file(truth.astype(np.uint8), affine), "application/gzip"),
    }
    scan_id, before, after = upload_until_counted(client, files, headers={"X-Request-ID": "req-volume"})
    assert delta(before, after, "brainmets_scans_total", kind="volume") == 1
    assert delta(before, after, "brainmets_scans_total", kind="slice") == 0
    for model in MODEL_NAMES:
        # One observation per volume job (all its slices), not one per slice.
        assert delta(before, after, "brainmets_inference_seconds_count", model=model) == 1
        assert delta(before, after, "brainmets_job_latency_seconds_count", model=model) == 1
    with runtime.sessions() as session:
        rows = session.query(OutboxMessage).filter(OutboxMessage.scan_id == scan_id).all()
    assert {row.payload["request_id"] for row in rows} == {"req-volume"}
    assert {row.payload["kind"] for row in rows} == {"volume"}


def _poison_scan(runtime, model: str) -> str:
    """A scan whose stored original is not an image, queued through the outbox as the gateway would."""
    scan_id = uuid.uuid4().hex
    key = f"scans/{scan_id}/original"
    runtime.store.put(key, b"\x89PNG\r\n\x1a\n this is not really a PNG", "image/png")
    now = datetime.now(UTC)
    job = JobMessage(scan_id=scan_id, model=model, image_key=key, width=64, height=64, created_at=now)
    scan = Scan(id=scan_id, created_at=now, filename="poison.png", content_type="image/png", width=64, height=64,
                models=[model], image_key=key, display_key=key)  # fmt: skip
    with runtime.sessions.begin() as session:
        add_scan(session, scan, [(model, job.model_dump(mode="json"))])
    runtime.outbox_wakeup.set()
    return scan_id


def test_a_failing_job_counts_as_retried_then_failed_and_dead_lettered(embedded) -> None:
    runtime, _app, client = embedded
    before = scrape(client)

    scan_id = _poison_scan(runtime, "unetpp")
    scan = wait_final(lambda path: client.get(path).json(), scan_id)
    assert scan["results"]["unetpp"]["status"] == "failed"

    def counted() -> Samples | None:
        after = scrape(client)
        return after if delta(before, after, "brainmets_jobs_total", model="unetpp", outcome="dead_lettered") else None

    after = wait_for(counted, timeout=10, what="the dead letter to be counted")
    attempts = runtime.settings.JOB_MAX_ATTEMPTS
    assert delta(before, after, "brainmets_jobs_total", model="unetpp", outcome="retried") == attempts - 1
    assert delta(before, after, "brainmets_jobs_total", model="unetpp", outcome="failed") == 1
    assert delta(before, after, "brainmets_jobs_total", model="unetpp", outcome="dead_lettered") == 1
    assert delta(before, after, "brainmets_jobs_total", model="unetpp", outcome="done") == 0
    assert delta(before, after, "brainmets_inference_seconds_count", model="unetpp") == 0


def test_refused_uploads_are_counted_by_status(embedded) -> None:
    runtime, _app, client = embedded
    before = scrape(client)

    assert client.post("/api/scans", files={"image": ("a.txt", b"plain text", "text/plain")}).status_code == 415
    assert client.post("/api/scans", files=upload_files(seed=3), data={"models": "nope"}).status_code == 400
    oversize = b"\0" * (runtime.settings.MAX_UPLOAD_BYTES + 128 * 1024)
    assert client.post("/api/scans", files={"image": ("big.png", oversize, "image/png")}).status_code == 413

    after = scrape(client)
    for status in ("415", "400", "413"):
        assert delta(before, after, "brainmets_upload_rejections_total", status=status) == 1, status
    assert delta(before, after, "brainmets_scans_total", kind="slice") == 0


def test_the_request_id_is_returned_and_travels_in_the_job(embedded) -> None:
    runtime, _app, client = embedded
    mine = client.post("/api/scans", files=upload_files(seed=42, with_truth=False), headers={"X-Request-ID": "req-42"})
    assert mine.headers["x-request-id"] == "req-42"
    new = client.post("/api/scans", files=upload_files(seed=43, with_truth=False))
    generated = new.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    # A header that is not a short plain token is replaced, never echoed.
    odd = client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert odd.headers["x-request-id"] != "x" * 65

    with runtime.sessions() as session:
        payloads = {
            row.payload["scan_id"]: row.payload["request_id"]
            for row in session.query(OutboxMessage).filter(
                OutboxMessage.scan_id.in_([mine.json()["id"], new.json()["id"]])
            )
        }
    assert set(payloads.values()) == {"req-42", generated}
    assert payloads[mine.json()["id"]] == "req-42"


@pytest.fixture
def restore_logging():
    """configure_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def test_log_lines_are_json_with_the_bound_request_scan_and_model(restore_logging) -> None:
    stream = io.StringIO()
    configure_logging("INFO")
    logging.getLogger().handlers[0].setStream(stream)
    with log_context(request_id="req-7", scan_id="a" * 32, model="unetpp"):
        logging.getLogger("services.worker.processor").info("job done in %d ms", 12)
    logging.getLogger("services.gateway").warning("no context here")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "job done in 12 ms"
    assert (first["request_id"], first["scan_id"], first["model"]) == ("req-7", "a" * 32, "unetpp")
    assert first["level"] == "INFO" and first["logger"] == "services.worker.processor"
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["level"] == "WARNING" and "request_id" not in second


def test_an_unknown_log_format_is_refused_with_the_choices(restore_logging) -> None:
    with pytest.raises(ValueError, match="json, text"):
        configure_logging("INFO", "xml")


FORKED_COUNTS = """
import os
from brainmets import telemetry
from tests.services.telemetry_support import parse, value
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        telemetry.count_job("unetpp", "done")
        telemetry.set_worker_connected("unetpp", True)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
body, _ = telemetry.exposition()
samples = parse(body.decode())
print(value(samples, "brainmets_jobs_total", model="unetpp", outcome="done"))
"""


def test_forked_processes_are_merged_in_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, what forked children count is in the parent's scrape, once each."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", FORKED_COUNTS], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) == 2.0
