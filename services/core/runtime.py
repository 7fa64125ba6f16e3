"""The adapters a service runs on, chosen from settings: the only place that differs between modes."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from brainmets.config import Settings
from brainmets.db import make_engine, make_sessionmaker
from brainmets.messaging import JobMessage, RetryPolicy, Topology
from brainmets.messaging.memory import InProcessBroker
from brainmets.messaging.rabbitmq import RabbitPublisher
from brainmets.storage import LocalStore, ObjectStore, S3Store

LOGGER = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, job: JobMessage) -> None: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Runtime:
    """Database, object store and broker for one process, plus a wake-up for the outbox relay."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    memory_broker: InProcessBroker | None = None
    outbox_wakeup: threading.Event = field(default_factory=threading.Event)
    _health_publisher: Publisher | None = field(default=None, init=False, repr=False)
    _health_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def topology(self) -> Topology:
        return Topology(self.settings.AMQP_PREFIX)

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(s.JOB_MAX_ATTEMPTS, s.RETRY_BASE_DELAY_S, s.RETRY_MAX_DELAY_S)

    def new_publisher(self, models: tuple[str, ...]) -> Publisher:
        """A publisher for one thread (pika connections are not thread-safe)."""
        if self.memory_broker is not None:
            return self.memory_broker
        if not self.settings.AMQP_URL:
            raise RuntimeError("AMQP_URL is unset and no in-process broker was created")
        return RabbitPublisher(self.settings.AMQP_URL, self.topology, models)

    def ping_broker(self) -> None:
        """Raise if the broker does not answer, over one connection kept for the life of the process.

        Readiness probes run every few seconds on every pod: a connection per probe would churn the broker.
        The lock serialises probes, which FastAPI runs on a thread pool, as a pika connection is not thread-safe.
        """
        with self._health_lock:
            if self._health_publisher is None:
                self._health_publisher = self.new_publisher(())
            self._health_publisher.ping()

    def close(self) -> None:
        with self._health_lock:
            publisher, self._health_publisher = self._health_publisher, None
        if publisher is not None and publisher is not self.memory_broker:
            publisher.close()
        self.engine.dispose()


def build_store(settings: Settings) -> ObjectStore:
    if settings.S3_ENDPOINT:
        return S3Store(
            settings.S3_ENDPOINT,
            settings.S3_ACCESS_KEY,
            settings.S3_SECRET_KEY,
            settings.S3_BUCKET,
            secure=settings.S3_SECURE,
            region=settings.S3_REGION,
        )
    return LocalStore(settings.objects_dir)


def build_runtime(settings: Settings, memory_broker: InProcessBroker | None = None) -> Runtime:
    """Postgres/SQLite, S3/local directory and RabbitMQ/in-process broker, as the settings say.

    With ``AMQP_URL`` unset, an in-process broker is created (it only reaches workers in the same process).
    """
    engine = make_engine(settings.database_url)
    if memory_broker is None and not settings.AMQP_URL:
        memory_broker = InProcessBroker(
            RetryPolicy(settings.JOB_MAX_ATTEMPTS, settings.RETRY_BASE_DELAY_S, settings.RETRY_MAX_DELAY_S)
        )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=build_store(settings),
        memory_broker=memory_broker,
    )
