"""The RabbitMQ adapters against the real broker, through a TCP proxy that a test cuts and restores."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from brainmets.catalog import MODEL_NAMES
from brainmets.config import Settings
from brainmets.db.migrate import upgrade
from brainmets.messaging import JobMessage, Topology
from brainmets.messaging.rabbitmq import RabbitConsumer
from services.core.runtime import build_runtime
from services.results_api.main import create_results_app
from tests.services.endpoints import AMQP_URL, delete_topology, unreachable_reason
from tests.services.polling import wait_for
from tests.services.proxy import FaultProxy

INITIAL_BACKOFF_S = 0.05


@pytest.fixture
def proxied() -> Iterator[tuple[FaultProxy, str]]:
    """The broker's URL through a fresh proxy."""
    reason = unreachable_reason()
    if reason and "RabbitMQ" in reason:
        pytest.skip(reason)
    direct = urlsplit(AMQP_URL)
    proxy = FaultProxy((direct.hostname or "127.0.0.1", direct.port or 5672))
    netloc = f"{direct.username}:{direct.password}@127.0.0.1:{proxy.port}"
    yield proxy, urlunsplit((direct.scheme, netloc, direct.path, direct.query, ""))
    proxy.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"bmtest{uuid.uuid4().hex[:10]}"
    yield name
    delete_topology(AMQP_URL, name, MODEL_NAMES)


class _IdleHandler:
    def handle(self, job: JobMessage, attempt: int) -> None:
        raise AssertionError("no job was published")

    def give_up(self, job: JobMessage, reason: str) -> None:
        raise AssertionError("no job was published")


class _WaitRecorder(threading.Event):
    """The consumer's stop event, noting every timed wait: the waits between reconnects."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            self.waits.append(timeout)
        return super().wait(timeout)


def test_a_second_outage_is_recovered_from_as_fast_as_the_first(proxied, prefix) -> None:
    proxy, url = proxied
    consumer = RabbitConsumer(
        url, Topology(prefix), MODEL_NAMES[0], initial_backoff_s=INITIAL_BACKOFF_S, max_backoff_s=5.0
    )
    recorder = _WaitRecorder()
    consumer._stopping = recorder  # a test seam: stop() and run() only use the event
    thread = threading.Thread(target=consumer.run, args=(_IdleHandler(),), daemon=True)
    thread.start()
    outages: list[list[float]] = []
    try:
        assert consumer.connected.wait(10)
        for _ in range(2):
            before = len(recorder.waits)
            proxy.cut()
            wait_for(lambda b=before: len(recorder.waits) >= b + 3, timeout=20, what="three failed reconnects")
            proxy.restore()
            assert consumer.connected.wait(20)
            outages.append(recorder.waits[before:])
    finally:
        consumer.stop()
        thread.join(10)
    assert not thread.is_alive()
    for waits in outages:
        # Each outage starts again from the shortest wait, then doubles.
        assert waits == [INITIAL_BACKOFF_S * 2**i for i in range(len(waits))], outages


def test_readiness_probes_share_one_broker_connection(proxied, prefix, tmp_path: Path) -> None:
    proxy, url = proxied
    settings = Settings(VAR_DIR=tmp_path / "var", AMQP_URL=url, AMQP_PREFIX=prefix)
    upgrade(settings.database_url)
    # The results API runs no outbox relay, so every connection through the proxy is a readiness probe's.
    with TestClient(create_results_app(build_runtime(settings))) as client:
        for _ in range(5):
            assert client.get("/readyz").json()["checks"]["broker"] == "ok"
        assert proxy.accepted == 1

        proxy.cut()  # the kept connection dies, as in a broker restart
        proxy.restore()
        assert client.get("/readyz").json()["checks"]["broker"] == "ok"  # replaced, not reported down
        assert proxy.accepted == 2

        proxy.cut()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["broker"] == "unavailable"
