"""RabbitMQ through pika 1.4 (BlockingConnection).

Durable exchanges and queues, persistent messages, publisher confirms, one durable queue per model with a
dead-letter queue and a retry queue (see ``Topology``). The consumer runs each job on a worker thread so the
connection's I/O loop keeps heartbeats going during long inference, and acks through
``add_callback_threadsafe`` (pika's ``basic_consumer_threaded`` example).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, UnroutableError
from pika.spec import Basic, BasicProperties

from brainmets import telemetry
from brainmets.messaging.base import (
    ATTEMPT_HEADER,
    Backoff,
    Disposition,
    JobHandler,
    Outcome,
    PublishError,
    RetryPolicy,
    decide,
)
from brainmets.messaging.schema import JobMessage, Topology

LOGGER = logging.getLogger(__name__)
PERSISTENT = pika.DeliveryMode.Persistent


def connection_parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    # A dead broker should be noticed within seconds, not minutes.
    params.socket_timeout = 5
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    if params.heartbeat is None:
        params.heartbeat = 30
    return params


def declare_topology(channel: BlockingChannel, topology: Topology, models: Iterable[str]) -> None:
    """Declare (idempotently) the exchanges and every queue of ``models``."""
    channel.exchange_declare(topology.exchange, exchange_type="direct", durable=True)
    channel.exchange_declare(topology.dead_letter_exchange, exchange_type="direct", durable=True)
    for model in models:
        queue = topology.queue(model)
        channel.queue_declare(
            queue,
            durable=True,
            arguments={"x-dead-letter-exchange": topology.dead_letter_exchange, "x-dead-letter-routing-key": model},
        )
        channel.queue_bind(queue, topology.exchange, routing_key=model)
        dead = topology.dead_letter_queue(model)
        channel.queue_declare(dead, durable=True)
        channel.queue_bind(dead, topology.dead_letter_exchange, routing_key=model)
        channel.queue_declare(
            topology.retry_queue(model),
            durable=True,
            arguments={"x-dead-letter-exchange": topology.exchange, "x-dead-letter-routing-key": model},
        )


def job_properties(job: JobMessage, attempt: int = 0, expiration_ms: int | None = None) -> BasicProperties:
    return BasicProperties(
        content_type="application/json",
        delivery_mode=PERSISTENT,
        message_id=job.message_id,
        headers={ATTEMPT_HEADER: attempt},
        expiration=None if expiration_ms is None else str(expiration_ms),
    )


class RabbitPublisher:
    """Publishes jobs with confirms; reconnects on the next call after a failure. Not thread-safe."""

    def __init__(self, url: str, topology: Topology, models: Iterable[str]) -> None:
        self.url = url
        self.topology = topology
        self.models = tuple(models)
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _ensure(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        try:
            self._connection = pika.BlockingConnection(connection_parameters(self.url))
            channel = self._connection.channel()
            channel.confirm_delivery()
            declare_topology(channel, self.topology, self.models)
        except (AMQPError, OSError) as exc:
            self.close()
            raise PublishError(f"broker unreachable: {exc.__class__.__name__}") from exc
        self._channel = channel
        return channel

    def publish(self, job: JobMessage) -> None:
        """Return once the broker has confirmed the message; raise ``PublishError`` otherwise."""
        channel = self._ensure()
        try:
            channel.basic_publish(
                self.topology.exchange,
                routing_key=job.model,
                body=job.to_bytes(),
                properties=job_properties(job),
                mandatory=True,
            )
        except UnroutableError as exc:
            raise PublishError(f"no queue for model {job.model}") from exc
        except (AMQPError, OSError) as exc:
            self.close()
            raise PublishError(f"publish failed: {exc.__class__.__name__}") from exc

    def ping(self) -> None:
        """Raise ``PublishError`` if the broker does not answer; also services heartbeats.

        A connection kept open between pings may have died meanwhile (the broker restarted, or closed it for
        missed heartbeats); it is replaced once before the broker counts as down.
        """
        reused = self._channel is not None and self._channel.is_open
        try:
            self._process_events()
        except PublishError:
            if not reused:
                raise
            self._process_events()

    def _process_events(self) -> None:
        self._ensure()
        connection = self._connection
        if connection is None:
            raise PublishError("broker connection lost")
        try:
            connection.process_data_events(time_limit=0)
        except (AMQPError, OSError) as exc:
            self.close()
            raise PublishError(f"broker connection lost: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError):
                LOGGER.debug("closing a broken connection failed", exc_info=True)


class RabbitConsumer:
    """Consumes one model's queue with prefetch 1 until ``stop``, reconnecting with capped backoff."""

    def __init__(
        self,
        url: str,
        topology: Topology,
        model: str,
        policy: RetryPolicy | None = None,
        prefetch: int = 1,
        max_backoff_s: float = 30.0,
        initial_backoff_s: float = 1.0,
    ) -> None:
        self.url = url
        self.topology = topology
        self.model = model
        self.policy = policy or RetryPolicy()
        self.prefetch = prefetch
        self._backoff = Backoff(initial_backoff_s, max_backoff_s)
        self._stopping = threading.Event()
        self._busy = False
        self._worker: threading.Thread | None = None
        self.connected = threading.Event()

    def stop(self) -> None:
        """Finish the job in hand, then return from ``run``. Safe to call from a signal handler."""
        self._stopping.set()

    def run(self, handler: JobHandler) -> None:
        while not self._stopping.is_set():
            try:
                self._consume(handler)
            except (AMQPError, OSError) as exc:
                self.connected.clear()
                self._join_worker()
                if self._stopping.is_set():
                    break
                wait = self._backoff.next()
                LOGGER.warning("broker connection lost (%s); reconnecting in %.1f s", exc.__class__.__name__, wait)
                self._stopping.wait(wait)
        self._join_worker()

    def _join_worker(self) -> None:
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        self._busy = False

    def _consume(self, handler: JobHandler) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.url))
        try:
            channel = connection.channel()
            declare_topology(channel, self.topology, [self.model])
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            on_message = functools.partial(self._on_message, connection=connection, handler=handler)
            tag = channel.basic_consume(self.topology.queue(self.model), on_message_callback=on_message)
            self.connected.set()
            telemetry.set_worker_connected(self.model, True)
            self._backoff.reset()  # connected: the next outage starts from the shortest wait again
            LOGGER.info("consuming %s", self.topology.queue(self.model))
            cancelled = False
            # Our own loop instead of start_consuming: a signal handler only sets a flag, and we exit once
            # the job in hand has been acked.
            while not (self._stopping.is_set() and not self._busy):
                if self._stopping.is_set() and not cancelled:
                    channel.basic_cancel(tag)
                    cancelled = True
                connection.process_data_events(time_limit=0.25)
            if not cancelled:
                channel.basic_cancel(tag)
        finally:
            self.connected.clear()
            telemetry.set_worker_connected(self.model, False)
            if connection.is_open:
                try:
                    connection.close()
                except (AMQPError, OSError):
                    LOGGER.debug("closing the consumer connection failed", exc_info=True)

    def _on_message(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
        *,
        connection: pika.BlockingConnection,
        handler: JobHandler,
    ) -> None:
        if self._stopping.is_set():
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        try:
            job = JobMessage.from_bytes(body)
        except ValueError:
            LOGGER.error("unreadable message on %s; dead-lettering it", self.topology.queue(self.model))
            channel.basic_nack(method.delivery_tag, requeue=False)
            telemetry.count_job(self.model, "dead_lettered")
            return
        attempt = int((properties.headers or {}).get(ATTEMPT_HEADER, 0))
        self._busy = True
        self._worker = threading.Thread(
            target=self._work,
            args=(connection, channel, method.delivery_tag, job, attempt, handler),
            name=f"job-{job.message_id}",
            daemon=True,
        )
        self._worker.start()

    def _work(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        delivery_tag: int,
        job: JobMessage,
        attempt: int,
        handler: JobHandler,
    ) -> None:
        outcome = decide(handler, job, attempt, self.policy)
        finish = functools.partial(self._finish, channel, delivery_tag, job, outcome)
        try:
            connection.add_callback_threadsafe(finish)
        except (AMQPError, OSError, RuntimeError):
            # The connection died meanwhile: the broker redelivers the job, and the stored result makes the
            # next delivery a no-op.
            LOGGER.warning("connection gone before %s could be acknowledged", job.message_id)

    def _finish(self, channel: BlockingChannel, delivery_tag: int, job: JobMessage, outcome: Outcome) -> None:
        """Runs on the connection's thread: ack, schedule a retry, or dead-letter."""
        try:
            if outcome.disposition is Disposition.ACK:
                channel.basic_ack(delivery_tag)
            elif outcome.disposition is Disposition.RETRY:
                # Publish the retry (confirmed) before acking, so the job always exists somewhere.
                channel.basic_publish(
                    "",
                    routing_key=self.topology.retry_queue(self.model),
                    body=job.to_bytes(),
                    properties=job_properties(
                        job, outcome.next_attempt, expiration_ms=max(1, int(outcome.delay_s * 1000))
                    ),
                )
                channel.basic_ack(delivery_tag)
            else:
                channel.basic_nack(delivery_tag, requeue=False)
        finally:
            self._busy = False
            self._worker = None
