"""An in-process broker for the embedded mode: one queue per model, retries on timers, a dead-letter list."""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict

from brainmets import telemetry
from brainmets.messaging.base import Disposition, JobHandler, RetryPolicy, decide
from brainmets.messaging.schema import JobMessage

LOGGER = logging.getLogger(__name__)


class InProcessBroker:
    """Publisher and consumer factory in one; messages are serialised as on the wire."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._queues: dict[str, queue.Queue[tuple[bytes, int]]] = defaultdict(queue.Queue)
        self._lock = threading.Lock()
        self.dead_letters: dict[str, list[bytes]] = defaultdict(list)

    def _queue(self, model: str) -> queue.Queue[tuple[bytes, int]]:
        with self._lock:
            return self._queues[model]

    def publish(self, job: JobMessage) -> None:
        self._queue(job.model).put((job.to_bytes(), 0))

    def requeue(self, model: str, body: bytes, attempt: int) -> None:
        self._queue(model).put((body, attempt))

    def depth(self, model: str) -> int:
        return self._queue(model).qsize()

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    def consumer(self, model: str) -> InProcessConsumer:
        return InProcessConsumer(self, model)


class InProcessConsumer:
    def __init__(self, broker: InProcessBroker, model: str) -> None:
        self.broker = broker
        self.model = model
        self._stop = threading.Event()

    def run(self, handler: JobHandler) -> None:
        """Take jobs one at a time until ``stop``; the job in hand is finished first."""
        source = self.broker._queue(self.model)
        telemetry.set_worker_connected(self.model, True)
        try:
            self._consume(source, handler)
        finally:
            telemetry.set_worker_connected(self.model, False)

    def _consume(self, source: queue.Queue[tuple[bytes, int]], handler: JobHandler) -> None:
        while not self._stop.is_set():
            try:
                body, attempt = source.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                job = JobMessage.from_bytes(body)
            except ValueError:
                LOGGER.error("dropping an unreadable message into the dead letters of %s", self.model)
                self.broker.dead_letters[self.model].append(body)
                telemetry.count_job(self.model, "dead_lettered")
                continue
            outcome = decide(handler, job, attempt, self.broker.policy)
            if outcome.disposition is Disposition.RETRY:
                timer = threading.Timer(outcome.delay_s, self.broker.requeue, (self.model, body, outcome.next_attempt))
                timer.daemon = True
                timer.start()
            elif outcome.disposition is Disposition.DEAD:
                self.broker.dead_letters[self.model].append(body)

    def stop(self) -> None:
        self._stop.set()
