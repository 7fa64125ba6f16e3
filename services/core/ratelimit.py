"""A per-account token bucket for uploads (in-process: each gateway replica counts its own)."""

from __future__ import annotations

import math
import threading
import time

from fastapi import HTTPException


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise 429 saying when to retry."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens < 1.0:
                wait = math.ceil((1.0 - tokens) / self.rate) if self.rate > 0 else 60
                self._buckets[key] = (tokens, now)
                raise HTTPException(429, f"too many uploads; try again in {wait} s", headers={"Retry-After": str(wait)})
            self._buckets[key] = (tokens - 1.0, now)
