"""What both brokers share: the handler interface and the retry decision."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Protocol

from brainmets import telemetry
from brainmets.logcontext import log_context
from brainmets.messaging.schema import JobMessage

LOGGER = logging.getLogger(__name__)
ATTEMPT_HEADER = "x-attempt"


class PublishError(RuntimeError):
    """The broker did not confirm the message (unreachable, closed, or refused)."""


class JobHandler(Protocol):
    def handle(self, job: JobMessage, attempt: int) -> None:
        """Do the job; raise to have it retried. ``attempt`` counts from 0."""
        ...

    def give_up(self, job: JobMessage, reason: str) -> None:
        """Record that the job failed for good; called before it is dead-lettered."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all, waiting ``base_delay_s * 2**attempt`` (capped) between them."""

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0

    def delay_s(self, attempt: int) -> float:
        return min(self.max_delay_s, self.base_delay_s * (2**attempt))


class Backoff:
    """Waits between reconnects: ``initial_s``, doubling up to ``max_s``.

    Call ``reset`` once connected again, so that each outage starts from ``initial_s`` rather than from where
    the previous one left off.
    """

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self._next_s = initial_s

    def next(self) -> float:
        """The wait before the next attempt; the one after it is twice as long, up to ``max_s``."""
        wait, self._next_s = self._next_s, min(self.max_s, self._next_s * 2)
        return wait

    def reset(self) -> None:
        self._next_s = self.initial_s


class Disposition(enum.Enum):
    ACK = "ack"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Outcome:
    disposition: Disposition
    next_attempt: int = 0
    delay_s: float = 0.0


def decide(handler: JobHandler, job: JobMessage, attempt: int, policy: RetryPolicy) -> Outcome:
    """Run the handler once and say what to do with the delivery.

    Every line logged meanwhile carries the job's scan, model and upload request id. Retries and give-ups are
    counted here, for both brokers; the handler counts ``done`` when it commits a result (a redelivered job
    that finds its result already there is not done twice).
    """
    with log_context(scan_id=job.scan_id, model=job.model, request_id=job.request_id):
        outcome = _decide(handler, job, attempt, policy)
    if outcome.disposition is Disposition.RETRY:
        telemetry.count_job(job.model, "retried")
    elif outcome.disposition is Disposition.DEAD:
        telemetry.count_job(job.model, "failed")
        telemetry.count_job(job.model, "dead_lettered")
    return outcome


def _decide(handler: JobHandler, job: JobMessage, attempt: int, policy: RetryPolicy) -> Outcome:
    try:
        handler.handle(job, attempt)
        return Outcome(Disposition.ACK)
    except Exception as exc:
        reason = _reason(exc)
        if attempt + 1 < policy.max_attempts:
            LOGGER.warning("job %s attempt %d failed (%s); retrying", job.message_id, attempt + 1, reason)
            return Outcome(Disposition.RETRY, attempt + 1, policy.delay_s(attempt))
        LOGGER.error("job %s failed after %d attempts: %s", job.message_id, attempt + 1, reason)
        try:
            handler.give_up(job, f"failed after {attempt + 1} attempts: {reason}")
        except Exception:
            # Could not record the failure (database down?): keep the job, try again later.
            LOGGER.exception("could not record the failure of %s; keeping the job", job.message_id)
            return Outcome(Disposition.RETRY, attempt, policy.max_delay_s)
        return Outcome(Disposition.DEAD, attempt + 1)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text[:500]
