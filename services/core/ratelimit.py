"""A per-account upload rate limit: the rate, the clock and the 429 answer.

The bucket itself is in the database (``brainmets.db.ratelimit``) so that every gateway replica draws on one
bucket; each check is one short transaction there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import HTTPException
from sqlalchemy.orm import Session, sessionmaker

from brainmets.db.ratelimit import take_token


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
            return take_token(session, key, now=now, rate=self.rate, capacity=self.capacity)
