"""Workers under faults: SIGTERM mid-job, SIGKILL mid-job, and a poison job."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import UTC, datetime

import pytest

from brainmets.db import Scan
from brainmets.db.models import Result
from brainmets.db.scans import add_scan
from brainmets.messaging import JobMessage
from tests.services.endpoints import queue_depth
from tests.services.polling import wait_for
from tests.services.synthetic import upload_files


@pytest.fixture(scope="module")
def stack(make_stack):
    """A gateway only; each test starts its own U-Net++ workers on the slow model."""
    stack = make_stack()
    stack.start({}, results_api=False)
    return stack


def _status(sessions, scan_id: str) -> str | None:
    with sessions() as session:
        row = session.query(Result).filter(Result.scan_id == scan_id).one_or_none()
        return None if row is None else row.status


def _queue(stack, suffix: str = "") -> int:
    return queue_depth(stack.endpoints.amqp_url, f"{stack.endpoints.amqp_prefix}.unetpp{suffix}")


def test_sigterm_lets_a_worker_finish_its_job_then_exit(stack, slow_artifacts) -> None:
    worker = stack.start_worker("unetpp", artifacts_dir=slow_artifacts)
    scan_id = stack.upload(upload_files(seed=21, size=256), {"models": "unetpp"}).json()["id"]
    sessions = stack.sessions()
    wait_for(lambda: _status(sessions, scan_id) == "running", timeout=60, interval=0.01, what="job running")

    worker.signal(signal.SIGTERM)
    worker.process.wait(60)

    assert worker.process.returncode == 0, worker.log()[-2000:]
    assert _status(sessions, scan_id) == "done"
    with sessions() as session:
        assert session.query(Result).filter(Result.scan_id == scan_id).one().attempts == 1
    assert _queue(stack) == 0


def test_a_worker_killed_mid_job_has_its_job_redelivered_and_completed_once(stack, slow_artifacts) -> None:
    doomed = stack.start_worker("unetpp", artifacts_dir=slow_artifacts)
    scan_id = stack.upload(upload_files(seed=22, size=256), {"models": "unetpp"}).json()["id"]
    sessions = stack.sessions()
    wait_for(lambda: _status(sessions, scan_id) == "running", timeout=60, interval=0.01, what="job running")

    doomed.signal(signal.SIGKILL)
    doomed.process.wait(10)
    time.sleep(0.5)
    assert _status(sessions, scan_id) == "running"  # nobody finished it
    successor = stack.start_worker("unetpp", artifacts_dir=slow_artifacts)

    wait_for(lambda: _status(sessions, scan_id) == "done", timeout=90, what="the redelivered job")

    with sessions() as session:
        row = session.query(Result).filter(Result.scan_id == scan_id).one()  # exactly one result
    assert row.attempts == 2  # the killed delivery, then the redelivery
    assert _queue(stack) == 0 and _queue(stack, ".dead") == 0
    assert successor.stop() == 0


def test_a_poison_job_is_dead_lettered_marked_failed_and_the_queue_keeps_flowing(stack, slow_artifacts) -> None:
    worker = stack.start_worker("unetpp", artifacts_dir=slow_artifacts)
    # A scan whose stored original is not an image: written as the gateway would, relayed by its outbox.
    scan_id = uuid.uuid4().hex
    key = f"scans/{scan_id}/original"
    stack.store().put(key, b"\x89PNG\r\n\x1a\n this is not really a PNG")
    now = datetime.now(UTC)
    job = JobMessage(scan_id=scan_id, model="unetpp", image_key=key, width=64, height=64, created_at=now)
    scan = Scan(
        id=scan_id,
        created_at=now,
        filename="poison.png",
        content_type="image/png",
        width=64,
        height=64,
        models=["unetpp"],
        image_key=key,
        display_key=key,
    )
    sessions = stack.sessions()
    with sessions.begin() as session:
        add_scan(session, scan, [("unetpp", job.model_dump(mode="json"))])
    healthy = stack.upload(upload_files(seed=23), {"models": "unetpp"}).json()["id"]

    wait_for(lambda: _status(sessions, scan_id) == "failed", timeout=60, what="the poison job to fail")
    wait_for(lambda: _status(sessions, healthy) == "done", timeout=60, what="the job behind it")

    with sessions() as session:
        row = session.query(Result).filter(Result.scan_id == scan_id).one()
    assert row.error.startswith("failed after 3 attempts")
    assert "not a PNG, JPEG or TIFF" in row.error
    assert row.attempts == 3
    wait_for(lambda: _queue(stack, ".dead") == 1, timeout=10, what="the dead letter")
    assert _queue(stack) == 0
    assert worker.stop() == 0
