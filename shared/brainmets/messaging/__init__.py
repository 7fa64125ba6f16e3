"""Jobs between the gateway and the workers: message schema, names, retry policy and two brokers.

``rabbitmq`` talks to RabbitMQ through pika; ``memory`` is an in-process queue for the embedded mode with the
same delivery semantics (retries with backoff, then a dead letter).
"""

from brainmets.messaging.base import (
    Backoff,
    Disposition,
    JobHandler,
    Outcome,
    PublishError,
    RetryPolicy,
    decide,
)
from brainmets.messaging.schema import SCHEMA_VERSION, JobMessage, Topology

__all__ = [
    "SCHEMA_VERSION",
    "Backoff",
    "Disposition",
    "JobHandler",
    "JobMessage",
    "Outcome",
    "PublishError",
    "RetryPolicy",
    "Topology",
    "decide",
]
