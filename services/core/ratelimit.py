"""A per-account token bucket for uploads, kept in the database so that every gateway replica draws on one bucket.

Each check is one short transaction: create the bucket if it is new, lock its row, refill it by the time elapsed
and take a token. Postgres serialises concurrent checks on the row lock; SQLite on its write lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import HTTPException
from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from brainmets.db import RateBucket


class RateLimiter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute))
        self._sessions = sessions
        self._clock = clock  # wall time, not monotonic: replicas on different hosts compare stamps

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise 429 saying when to retry."""
        wait = self.take(key)
        if wait is not None:
            raise HTTPException(429, f"too many uploads; try again in {wait} s", headers={"Retry-After": str(wait)})

    def take(self, key: str) -> int | None:
        """Take one token; ``None`` when one was taken, else the whole seconds until one will be there."""
        now = self._clock()
        with self._sessions.begin() as session:
            session.execute(self._create_if_missing(session, key, now))
            bucket = session.execute(select(RateBucket).where(RateBucket.key == key).with_for_update()).scalar_one()
            # A replica whose clock runs behind must neither refill nor turn the stamp back.
            elapsed = max(0.0, now - bucket.refreshed_at)
            tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            if tokens < 1.0:
                # Nothing is written: the same refill is computed again from the unchanged stamp next time.
                return math.ceil((1.0 - tokens) / self.rate) if self.rate > 0 else 60
            bucket.tokens = tokens - 1.0
            bucket.refreshed_at = max(now, bucket.refreshed_at)
        return None

    def _create_if_missing(self, session: Session, key: str, now: float) -> Insert:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        values = {"key": key, "tokens": self.capacity, "refreshed_at": now}
        return dialect.insert(RateBucket).values(**values).on_conflict_do_nothing(index_elements=["key"])
