"""The upload rate limit is one bucket per account in the database, shared by every gateway replica."""

from __future__ import annotations

import threading

import pytest
from fastapi import HTTPException

from brainmets.db import RateBucket
from brainmets.db.ratelimit import take_token
from services.core.ratelimit import RateLimiter


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_refused_until_the_bucket_refills(sessions) -> None:
    clock = Clock()
    limiter = RateLimiter(sessions, per_minute=60, burst=3, clock=clock)
    assert [limiter.take("account:1") for _ in range(4)] == [None, None, None, 1]
    with pytest.raises(HTTPException) as refused:
        limiter.check("account:1")
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "1"}
    assert limiter.take("account:2") is None  # another account has its own bucket
    clock.now += 1.0  # one token per second at 60 a minute
    assert limiter.take("account:1") is None
    assert limiter.take("account:1") == 1
    clock.now += 3600  # a long pause refills to the burst, not beyond
    assert [limiter.take("account:1") for _ in range(4)] == [None, None, None, 1]


def test_the_wait_reported_is_the_time_until_the_next_token(sessions) -> None:
    clock = Clock()
    limiter = RateLimiter(sessions, per_minute=6, burst=1, clock=clock)  # one token every 10 s
    assert limiter.take("k") is None
    assert limiter.take("k") == 10
    clock.now += 7.5
    assert limiter.take("k") == 3  # 2.5 s left, rounded up
    clock.now += 2.5
    assert limiter.take("k") is None


def test_the_bucket_is_created_full_and_a_refusal_writes_nothing(sessions) -> None:
    # The database layer on its own: the caller's session holds the transaction, the caller's clock the time.
    with sessions.begin() as session:
        assert take_token(session, "k", now=100.0, rate=0.5, capacity=2.0) is None
        assert take_token(session, "k", now=100.0, rate=0.5, capacity=2.0) is None
        assert take_token(session, "k", now=101.0, rate=0.5, capacity=2.0) == 1  # half a token: 1 s to the next
    with sessions() as session:
        bucket = session.get(RateBucket, "k")
        assert (bucket.tokens, bucket.refreshed_at) == (0.0, 100.0)
    with sessions.begin() as session:
        assert take_token(session, "k", now=200.0, rate=0.0, capacity=2.0) == 60  # no refill: a minute


def test_replicas_share_one_bucket(sessions) -> None:
    clock = Clock()
    replicas = [RateLimiter(sessions, per_minute=60, burst=4, clock=clock) for _ in range(2)]
    taken = [replicas[i % 2].take("account:7") for i in range(6)]
    assert taken == [None] * 4 + [1, 1]


def test_a_replica_with_a_slow_clock_neither_refills_nor_turns_the_stamp_back(sessions) -> None:
    ahead, behind = Clock(), Clock()
    behind.now -= 30
    RateLimiter(sessions, per_minute=60, burst=2, clock=ahead).take("k")
    slow = RateLimiter(sessions, per_minute=60, burst=2, clock=behind)
    assert [slow.take("k"), slow.take("k")] == [None, 1]
    with sessions() as session:
        assert session.get(RateBucket, "k").refreshed_at == ahead.now


def test_concurrent_uploads_from_many_threads_take_exactly_the_burst(sessions, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks between connections are what is tested; SQLite has one writer by construction")
    limiter = RateLimiter(sessions, per_minute=1, burst=5, clock=Clock())
    outcomes: list[int | None] = []
    barrier = threading.Barrier(8)

    def upload() -> None:
        barrier.wait()
        for _ in range(3):
            outcomes.append(limiter.take("account:race"))

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 24
    assert outcomes.count(None) == 5
