"""The outbox relay: publishes committed jobs with publisher confirms, marks them sent, retries while down.

It runs on a thread in the gateway process. A job published but not yet marked sent when the process dies is
published again; the workers' idempotency makes that harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from brainmets.db.scans import mark_sent, pending_outbox, purge_sent_outbox
from brainmets.messaging import Backoff, JobMessage, PublishError
from services.core.runtime import Publisher, Runtime

LOGGER = logging.getLogger(__name__)
BATCH = 100
RETENTION = timedelta(days=7)
PURGE_EVERY_S = 3600.0


class OutboxRelay:
    def __init__(self, runtime: Runtime, models: tuple[str, ...], max_backoff_s: float = 10.0) -> None:
        self.runtime = runtime
        self.models = models
        self.max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.runtime.outbox_wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        publisher = self.runtime.new_publisher(self.models)
        backoff = Backoff(0.5, self.max_backoff_s)
        wakeup = self.runtime.outbox_wakeup
        next_purge = time.monotonic()
        try:
            while not self._stop.is_set():
                wakeup.clear()
                try:
                    if time.monotonic() >= next_purge:
                        self.purge()
                        next_purge = time.monotonic() + PURGE_EVERY_S
                    sent = self.relay_once(publisher)
                    publisher.ping()  # keeps the idle connection's heartbeats going
                    backoff.reset()
                except (PublishError, SQLAlchemyError) as exc:
                    wait = backoff.next()
                    LOGGER.warning("outbox relay paused (%s); retrying in %.1f s", exc, wait)
                    self._stop.wait(wait)
                    continue
                if sent < BATCH:
                    wakeup.wait(self.runtime.settings.RELAY_INTERVAL_S)
        finally:
            publisher.close()

    def purge(self, retention: timedelta = RETENTION) -> int:
        """Drop rows sent longer ago than ``retention``, so the outbox stays small."""
        with self.runtime.sessions.begin() as session:
            removed = purge_sent_outbox(session, datetime.now(UTC) - retention)
        if removed:
            LOGGER.info("purged %d sent outbox rows", removed)
        return removed

    def relay_once(self, publisher: Publisher) -> int:
        """Publish one batch of pending jobs; return how many were confirmed."""
        sent = 0
        with self.runtime.sessions() as session:
            try:
                for message in pending_outbox(session, BATCH):
                    publisher.publish(JobMessage.model_validate(message.payload))
                    mark_sent(session, message)
                    sent += 1
            finally:
                # Keep what was confirmed even when a later publish fails.
                session.commit()
        if sent:
            LOGGER.debug("relayed %d jobs", sent)
        return sent
