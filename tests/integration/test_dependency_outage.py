"""Postgres or the object store goes away: the gateway answers 503 (never 500), leaves nothing half-written, and
recovers by itself when the dependency returns. TCP proxies between the gateway and each server are cut."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from sqlalchemy.engine import make_url

from brainmets.db import Scan
from brainmets.db.scans import count_results
from tests.services.endpoints import queue_depth
from tests.services.polling import wait_final, wait_for
from tests.services.proxy import FaultProxy
from tests.services.synthetic import upload_files


@pytest.fixture(scope="module")
def outage(make_stack):
    stack = make_stack()
    direct = stack.endpoints
    pg = make_url(direct.database_url)
    db_proxy = FaultProxy((pg.host or "127.0.0.1", pg.port or 5432))
    s3_host, _, s3_port = direct.s3_endpoint.partition(":")
    s3_proxy = FaultProxy((s3_host, int(s3_port or 80)))
    stack.endpoints = dataclasses.replace(
        direct,
        database_url=pg.set(host="127.0.0.1", port=db_proxy.port).render_as_string(hide_password=False),
        s3_endpoint=f"127.0.0.1:{s3_proxy.port}",
    )
    # Without sign-in the upload reaches the store before the database fails: the orphan clean-up is tested.
    stack.extra_env["AUTH_ENABLED"] = "false"
    stack.start({}, results_api=True)
    # The checks below read through the direct endpoints, not the proxies.
    stack.endpoints = direct
    yield stack, db_proxy, s3_proxy
    db_proxy.close()
    s3_proxy.close()


def _objects(stack) -> set[str]:
    store = stack.store()
    store.ensure_bucket()
    return {o.object_name for o in store.client.list_objects(store.bucket, recursive=True)}


def _scan_count(stack) -> int:
    with stack.sessions()() as session:
        return session.query(Scan).count()


def test_database_down_gives_503_stores_nothing_and_recovers(outage) -> None:
    stack, db_proxy, _ = outage
    assert stack.upload(upload_files(seed=41)).status_code == 202
    objects, scans = _objects(stack), _scan_count(stack)

    db_proxy.cut()
    response = stack.upload(upload_files(seed=42))
    listing = stack.get("/api/scans")
    ready = httpx.get(f"{stack.gateway_url}/readyz", timeout=30)

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "the database is unavailable; try again in a moment"}
    assert response.headers["retry-after"] == "5"
    assert listing.status_code == 503
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
    assert _objects(stack) == objects  # the orphaned objects were removed
    assert _scan_count(stack) == scans

    db_proxy.restore()
    assert stack.upload(upload_files(seed=43)).status_code == 202
    assert stack.get("/api/scans").status_code == 200
    assert _scan_count(stack) == scans + 1


def test_object_store_down_gives_503_writes_no_rows_and_recovers(outage) -> None:
    stack, _, s3_proxy = outage
    scans = _scan_count(stack)

    s3_proxy.cut()
    response = stack.upload(upload_files(seed=44))
    ready = httpx.get(f"{stack.gateway_url}/readyz", timeout=30)

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "the object store is unavailable; try again in a moment"}
    assert ready.status_code == 503 and ready.json()["checks"]["store"] == "unavailable"
    assert _scan_count(stack) == scans

    s3_proxy.restore()
    assert stack.upload(upload_files(seed=45)).status_code == 202
    assert _scan_count(stack) == scans + 1


def test_a_worker_that_loses_the_database_keeps_its_job_and_finishes_it_once(outage) -> None:
    stack, _, _ = outage
    pg = make_url(stack.endpoints.database_url)
    worker_db = FaultProxy((pg.host or "127.0.0.1", pg.port or 5432))
    try:
        proxied = pg.set(host="127.0.0.1", port=worker_db.port).render_as_string(hide_password=False)
        worker = stack.start_worker("unetpp", env={"DATABASE_URL": proxied})
        worker_db.cut()
        scan_id = stack.upload(upload_files(seed=46), {"models": "unetpp"}).json()["id"]
        # Long enough for every retry to fail and for recording the failure to fail as well.
        wait_for(lambda: worker.log().count("retrying") >= 2, timeout=30, what="failed attempts")
        time.sleep(1.0)
        assert stack.scan(scan_id)["results"]["unetpp"]["status"] == "queued"

        worker_db.restore()

        assert wait_final(stack.get_json, scan_id, timeout=60)["results"]["unetpp"]["status"] == "done"
        with stack.sessions()() as session:
            assert count_results(session, [scan_id]) == {(scan_id, "unetpp"): 1}
        prefix = stack.endpoints.amqp_prefix
        assert queue_depth(stack.endpoints.amqp_url, f"{prefix}.unetpp.dead") == 0
        assert worker.stop() == 0
    finally:
        worker_db.close()
