"""Engines and sessions for Postgres (services) and SQLite (embedded mode)."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

LOGGER = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine whose connections are checked before use, so a restarted database is picked up again."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while worker threads write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def wait_for_database(engine: Engine, timeout_s: float = 60.0, interval_s: float = 1.0) -> None:
    """Block until the database answers (containers start in any order), or raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ping(engine)
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            LOGGER.info("waiting for the database: %s", exc.__class__.__name__)
            time.sleep(interval_s)
