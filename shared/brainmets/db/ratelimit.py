"""Token buckets in the database, so that every gateway replica draws on the same bucket per key.

One call is one short transaction's work: create the bucket if it is new, lock its row, refill it by the time
elapsed and take a token. Postgres serialises concurrent calls on the row lock; SQLite on its write lock. The
dialect branch lives here, with the rest of the SQL, so the HTTP side only knows rates, clocks and 429s.
"""

from __future__ import annotations

import math

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from brainmets.db.models import RateBucket


def take_token(session: Session, key: str, *, now: float, rate: float, capacity: float) -> int | None:
    """Take one token from ``key``'s bucket; ``None`` when one was taken, else whole seconds until one will be there.

    ``now`` is wall time in seconds since the epoch, ``rate`` tokens per second and ``capacity`` the most a bucket
    holds (a new bucket starts full). The caller commits: the row stays locked until it does.
    """
    session.execute(_create_if_missing(session, key, now, capacity))
    bucket = session.execute(select(RateBucket).where(RateBucket.key == key).with_for_update()).scalar_one()
    # A replica whose clock runs behind must neither refill nor turn the stamp back.
    elapsed = max(0.0, now - bucket.refreshed_at)
    tokens = min(capacity, bucket.tokens + elapsed * rate)
    if tokens < 1.0:
        # Nothing is written: the same refill is computed again from the unchanged stamp next time.
        return math.ceil((1.0 - tokens) / rate) if rate > 0 else 60
    bucket.tokens = tokens - 1.0
    bucket.refreshed_at = max(now, bucket.refreshed_at)
    return None


def _create_if_missing(session: Session, key: str, now: float, capacity: float) -> Insert:
    # A plain INSERT would fail (and abort a Postgres transaction) when another replica created the row first.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"key": key, "tokens": capacity, "refreshed_at": now}
    return dialect.insert(RateBucket).values(**values).on_conflict_do_nothing(index_elements=["key"])
