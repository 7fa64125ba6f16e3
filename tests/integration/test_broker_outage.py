"""The broker goes away: uploads are still accepted (outbox), and the gateway and workers reconnect.

A TCP proxy between the services and the real RabbitMQ is cut and restored.
"""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from brainmets.db.models import OutboxMessage
from brainmets.db.scans import count_results
from brainmets.networks import MODEL_NAMES
from tests.services.polling import wait_final
from tests.services.proxy import FaultProxy
from tests.services.synthetic import upload_files


@pytest.fixture(scope="module")
def outage(make_stack):
    stack = make_stack()
    direct = urlsplit(stack.endpoints.amqp_url)
    proxy = FaultProxy((direct.hostname or "127.0.0.1", direct.port or 5672))
    netloc = f"{direct.username}:{direct.password}@127.0.0.1:{proxy.port}"
    proxied = urlunsplit((direct.scheme, netloc, direct.path, direct.query, ""))
    stack.endpoints = dataclasses.replace(stack.endpoints, amqp_url=proxied)
    stack.start(dict.fromkeys(MODEL_NAMES, 1))
    yield stack, proxy
    proxy.close()


def test_uploads_during_a_broker_outage_are_processed_once_it_returns(outage) -> None:
    stack, proxy = outage
    first = stack.upload(upload_files(seed=31)).json()["id"]
    assert wait_final(stack.get_json, first, timeout=60)["status"] == "done"

    proxy.cut()
    during = []
    for seed in range(32, 35):
        response = stack.upload(upload_files(seed=seed))
        assert response.status_code == 202, response.text  # accepted without a broker
        during.append(response.json()["id"])
    time.sleep(1.5)
    with stack.sessions()() as session:
        pending = session.query(OutboxMessage).filter(OutboxMessage.scan_id.in_(during)).all()
        assert len(pending) == 6 and all(m.sent_at is None for m in pending)
    assert all(stack.scan(i)["status"] == "queued" for i in during)

    proxy.restore()

    for scan_id in during:
        assert wait_final(stack.get_json, scan_id, timeout=90)["status"] == "done"
    with stack.sessions()() as session:
        counts = count_results(session, [first, *during])
    assert counts == {(s, m): 1 for s in [first, *during] for m in MODEL_NAMES}
    for worker in stack.workers():
        assert "reconnecting" in worker.log()
