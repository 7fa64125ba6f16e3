"""Retry policy, message schema and the in-process broker's delivery semantics."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from brainmets.messaging import Backoff, Disposition, JobMessage, RetryPolicy, Topology, decide
from brainmets.messaging.memory import InProcessBroker


def _job(model: str = "unetpp", n: int = 0) -> JobMessage:
    return JobMessage(
        scan_id=f"{n:032x}",
        model=model,
        image_key="scans/x/original",
        width=64,
        height=64,
        created_at=datetime.now(UTC),
    )


class Recorder:
    """A job handler that fails its first ``failures`` attempts per job."""

    def __init__(self, failures: int = 0, give_up_fails: bool = False) -> None:
        self.failures = failures
        self.give_up_fails = give_up_fails
        self.attempts: list[tuple[str, int]] = []
        self.given_up: list[tuple[str, str]] = []
        self.done = threading.Event()

    def handle(self, job: JobMessage, attempt: int) -> None:
        self.attempts.append((job.scan_id, attempt))
        if attempt < self.failures:
            raise ValueError(f"boom {attempt}")
        self.done.set()

    def give_up(self, job: JobMessage, reason: str) -> None:
        if self.give_up_fails:
            raise ConnectionError("database down")
        self.given_up.append((job.scan_id, reason))
        self.done.set()


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay_s(a) for a in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_reconnect_backoff_doubles_is_capped_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(initial_s=0.5, max_s=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert [backoff.next() for _ in range(2)] == [0.5, 1.0]


def test_job_message_round_trips_and_rejects_bad_ids() -> None:
    job = _job()
    assert JobMessage.from_bytes(job.to_bytes()) == job
    assert job.message_id == f"{0:032x}:unetpp"
    with pytest.raises(ValueError):
        JobMessage.from_bytes(job.to_bytes().replace(job.scan_id.encode(), b"../../etc"))


def test_topology_names_share_the_prefix() -> None:
    topology = Topology("run42")
    assert topology.exchange == "run42.jobs"
    assert topology.queue("unetpp") == "run42.unetpp"
    assert topology.dead_letter_queue("unetpp") == "run42.unetpp.dead"
    assert topology.retry_queue("unetpp") == "run42.unetpp.retry"


def test_decide_retries_then_gives_up_with_the_reason() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1)
    handler = Recorder(failures=10)
    outcomes = [decide(handler, _job(), attempt, policy) for attempt in range(3)]
    assert [o.disposition for o in outcomes] == [Disposition.RETRY, Disposition.RETRY, Disposition.DEAD]
    assert [o.next_attempt for o in outcomes[:2]] == [1, 2]
    assert handler.given_up == [(_job().scan_id, "failed after 3 attempts: boom 2")]


def test_decide_keeps_the_job_when_the_failure_cannot_be_recorded() -> None:
    outcome = decide(Recorder(failures=10, give_up_fails=True), _job(), 2, RetryPolicy(max_attempts=3))
    assert outcome.disposition is Disposition.RETRY
    assert outcome.next_attempt == 2


def _run(broker: InProcessBroker, handler: Recorder, until) -> None:
    consumer = broker.consumer("unetpp")
    thread = threading.Thread(target=consumer.run, args=(handler,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not until() and time.monotonic() < deadline:
        time.sleep(0.02)
    consumer.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_in_process_broker_retries_a_flaky_job_until_it_succeeds() -> None:
    broker = InProcessBroker(RetryPolicy(max_attempts=3, base_delay_s=0.01))
    handler = Recorder(failures=2)
    broker.publish(_job())
    _run(broker, handler, handler.done.is_set)
    assert [a for _, a in handler.attempts] == [0, 1, 2]
    assert not broker.dead_letters["unetpp"]


def test_in_process_broker_dead_letters_a_poison_job_and_keeps_flowing() -> None:
    broker = InProcessBroker(RetryPolicy(max_attempts=2, base_delay_s=0.01))
    handler = Recorder(failures=1)
    poison = _job(n=1)
    handler.failures = 99
    broker.publish(poison)
    _run(broker, handler, lambda: bool(handler.given_up))
    assert len(broker.dead_letters["unetpp"]) == 1
    handler.failures = 0
    handler.done.clear()
    broker.publish(_job(n=2))
    _run(broker, handler, handler.done.is_set)
    assert handler.attempts[-1] == (_job(n=2).scan_id, 0)
