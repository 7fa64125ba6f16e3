"""Scans, their outbox rows, results and model versions: the writes and queries the pipeline shares.

The gateway, the outbox relay, the workers and the results API all go through these functions, so that routes and
consumers hold no SQL and one rule (for example, how a redelivered job finds its result row) lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from brainmets.db.models import ModelVersion, OutboxMessage, Result, ResultStatus, Scan


def add_scan(session: Session, scan: Scan, jobs: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Stage a scan and one outbox row per (model, payload); the caller commits them together."""
    session.add(scan)
    session.flush()
    for model, payload in jobs:
        session.add(OutboxMessage(scan_id=scan.id, model=model, payload=payload))


def get_scan(session: Session, scan_id: str) -> Scan | None:
    return session.scalar(select(Scan).where(Scan.id == scan_id).options(selectinload(Scan.results)))


def list_scans(session: Session, limit: int, offset: int, owner_id: int | None = None) -> tuple[list[Scan], int]:
    """Scans newest first; only ``owner_id``'s when given."""
    where = [] if owner_id is None else [Scan.owner_id == owner_id]
    total = session.scalar(select(func.count()).select_from(Scan).where(*where)) or 0
    rows = session.scalars(
        select(Scan)
        .where(*where)
        .options(selectinload(Scan.results))
        .order_by(Scan.created_at.desc(), Scan.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def pending_outbox(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Unsent jobs, oldest first, locked so that two relays never publish the same row at once."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query).all())


def mark_sent(session: Session, message: OutboxMessage) -> None:
    message.sent_at = datetime.now(UTC)
    message.attempts += 1


def purge_sent_outbox(session: Session, sent_before: datetime) -> int:
    """Delete outbox rows published before ``sent_before``; they are history once the broker has them."""
    result = session.execute(
        delete(OutboxMessage).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < sent_before)
    )
    return int(result.rowcount or 0)


def claim_result(session: Session, scan_id: str, model: str, model_version: str) -> Result | None:
    """The result row this delivery should fill, marked running; ``None`` when it is already final.

    A row left ``running`` by a worker that died is taken over: that is the redelivery finishing the job.
    """
    result = _find_result(session, scan_id, model, model_version)
    if result is None:
        try:
            with session.begin_nested():
                session.add(Result(scan_id=scan_id, model=model, model_version=model_version))
        except IntegrityError:
            pass  # another delivery created it first; the lock below orders us after it
        result = _find_result(session, scan_id, model, model_version, lock=True)
    else:
        result = _find_result(session, scan_id, model, model_version, lock=True)
    if result is None or result.status in (ResultStatus.DONE, ResultStatus.FAILED):
        return None
    result.status = ResultStatus.RUNNING
    result.attempts += 1
    return result


def _find_result(session: Session, scan_id: str, model: str, model_version: str, lock: bool = False) -> Result | None:
    query = select(Result).where(
        Result.scan_id == scan_id, Result.model == model, Result.model_version == model_version
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def fail_result(session: Session, scan_id: str, model: str, model_version: str, reason: str) -> None:
    """Mark the result failed (creating it if no attempt got that far), unless it is already done."""
    if session.get(Scan, scan_id) is None:
        return  # the scan is gone; nothing to mark
    result = _find_result(session, scan_id, model, model_version, lock=True)
    if result is None:
        session.add(
            Result(scan_id=scan_id, model=model, model_version=model_version, status=ResultStatus.FAILED, error=reason)
        )
        return
    if result.status != ResultStatus.DONE:
        session.execute(
            update(Result).where(Result.id == result.id).values(status=ResultStatus.FAILED.value, error=reason)
        )


def count_results(session: Session, scan_ids: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
    """Result rows per (scan, model): tests and the load script check for duplicates with it."""
    query = select(Result.scan_id, Result.model, func.count()).group_by(Result.scan_id, Result.model)
    if scan_ids is not None:
        query = query.where(Result.scan_id.in_(list(scan_ids)))
    return {(scan, model): n for scan, model, n in session.execute(query).all()}


def register_model_version(session: Session, name: str, version: str, card: dict[str, Any]) -> None:
    existing = session.scalar(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version))
    if existing is None:
        try:
            with session.begin_nested():
                session.add(ModelVersion(name=name, version=version, card=card))
        except IntegrityError:
            pass  # a second worker of the same model registered it at the same moment
    else:
        existing.card = card


def latest_model_versions(session: Session) -> dict[str, ModelVersion]:
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.registered_at, ModelVersion.id)).all()
    return {row.name: row for row in rows}


def complete_result(session: Session, result_id: int, **fields: Any) -> None:
    """Store a finished result's figures and object keys and mark it done."""
    session.execute(
        update(Result).where(Result.id == result_id).values(status=ResultStatus.DONE.value, error=None, **fields)
    )
