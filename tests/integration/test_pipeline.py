"""Upload over HTTP -> RabbitMQ -> worker processes per model -> Postgres and S3 -> results API."""

from __future__ import annotations

import io
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from brainmets.db.models import OutboxMessage, Result
from brainmets.db.scans import count_results
from brainmets.networks import MODEL_NAMES
from tests.services.endpoints import queue_depth
from tests.services.polling import wait_final
from tests.services.synthetic import upload_files


@pytest.fixture(scope="module")
def stack(make_stack):
    """Gateway, results API and one worker per model, shared by this module's tests."""
    stack = make_stack()
    stack.start(dict.fromkeys(MODEL_NAMES, 1))
    return stack


def test_upload_gives_both_results_in_postgres_and_masks_in_the_store(stack) -> None:
    response = stack.upload(upload_files(seed=11))
    assert response.status_code == 202, response.text
    scan_id = response.json()["id"]

    scan = wait_final(stack.get_json, scan_id, timeout=60)

    assert scan["status"] == "done"
    with stack.sessions()() as session:
        rows = session.query(Result).filter(Result.scan_id == scan_id).all()
        outbox = session.query(OutboxMessage).filter(OutboxMessage.scan_id == scan_id).all()
    assert sorted(r.model for r in rows) == sorted(MODEL_NAMES)
    assert len(outbox) == 2 and all(m.sent_at is not None for m in outbox)
    store = stack.store()
    for row in rows:
        assert row.status == "done" and row.device == "cpu" and row.model_version == "test-1"
        assert set(row.metrics) == {"dice", "iou", "precision", "recall", "f1"}
        assert store.exists(row.mask_key) and store.exists(row.probability_key)
        assert (row.attention_key is not None) == (row.model == "attention_unet")
        mask = np.asarray(Image.open(io.BytesIO(store.get(row.mask_key))))
        assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 255}
        assert row.lesion_area_px == int(np.count_nonzero(mask))
        assert scan["results"][row.model]["metrics"] == row.metrics
    assert store.exists(f"scans/{scan_id}/original")
    display = stack.get(f"/api/scans/{scan_id}/image")
    assert display.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(display.content)).size == (64, 64)
    assert stack.get_json("/readyz")["checks"] == {"database": "ok", "broker": "ok", "store": "ok"}
    assert {m["name"] for m in stack.get_json("/api/models")["models"]} == set(MODEL_NAMES)
    anonymous = httpx.get(f"{stack.results_url}/api/scans/{scan_id}", timeout=10)
    assert anonymous.status_code == 401  # AUTH_ENABLED=true: no token, no scan


def test_upload_without_ground_truth_stores_no_metrics(stack) -> None:
    scan_id = stack.upload(upload_files(seed=12, with_truth=False), {"models": "attention_unet"}).json()["id"]
    scan = wait_final(stack.get_json, scan_id, timeout=60)
    assert list(scan["results"]) == ["attention_unet"]
    with stack.sessions()() as session:
        (row,) = session.query(Result).filter(Result.scan_id == scan_id).all()
    assert row.metrics is None and row.status == "done"


def test_two_workers_per_model_process_20_scans_none_lost_none_duplicated(stack) -> None:
    extra = [stack.start_worker(m, wait=False) for m in MODEL_NAMES]
    for worker in extra:
        worker.wait_for_log("consuming")
    workers = stack.workers()
    assert len(workers) == 4
    done_before = {w.name: w.log().count(" done in ") for w in workers}
    ids = []
    for seed in range(20):
        response = stack.upload(upload_files(seed=100 + seed))
        assert response.status_code == 202
        ids.append(response.json()["id"])

    for scan_id in ids:
        assert wait_final(stack.get_json, scan_id, timeout=120)["status"] == "done"

    with stack.sessions()() as session:
        counts = count_results(session, ids)
    assert counts == {(scan_id, model): 1 for scan_id in ids for model in MODEL_NAMES}
    # Competing consumers: every worker took a share of its model's jobs.
    for worker in workers:
        assert worker.log().count(" done in ") > done_before[worker.name], worker.name
    for model in MODEL_NAMES:
        assert queue_depth(stack.endpoints.amqp_url, f"{stack.endpoints.amqp_prefix}.{model}") == 0
        assert queue_depth(stack.endpoints.amqp_url, f"{stack.endpoints.amqp_prefix}.{model}.dead") == 0
    for worker in extra:
        assert worker.stop() == 0, worker.log()[-2000:]


def test_a_rolling_restart_of_the_workers_during_a_stream_of_uploads_loses_nothing(stack) -> None:
    """Issue 7: replace every worker (start the new one, SIGTERM the old one) while uploads keep coming."""
    old = [w for w in stack.workers() if w.process.poll() is None]
    assert sorted(w.name.split("-")[1] for w in old) == sorted(MODEL_NAMES)
    ids: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        seed = 300
        while not stop.is_set() and len(ids) < 40:
            response = stack.upload(upload_files(seed=seed))
            assert response.status_code == 202
            ids.append(response.json()["id"])
            seed += 1
            time.sleep(0.2)

    uploader = threading.Thread(target=stream, daemon=True)
    uploader.start()
    for worker in old:
        model = worker.name.split("-")[1]
        replacement = stack.start_worker(model)
        replacement.wait_for_log("consuming")
        assert worker.stop() == 0, worker.log()[-2000:]  # SIGTERM: finishes its job in hand first
    stop.set()
    uploader.join(30)

    assert len(ids) >= 5
    for scan_id in ids:
        assert wait_final(stack.get_json, scan_id, timeout=120)["status"] == "done"
    with stack.sessions()() as session:
        counts = count_results(session, ids)
    assert counts == {(scan_id, model): 1 for scan_id in ids for model in MODEL_NAMES}
    for model in MODEL_NAMES:
        assert queue_depth(stack.endpoints.amqp_url, f"{stack.endpoints.amqp_prefix}.{model}.dead") == 0
