"""Writes only volume jobs make: the progress a worker reports while it segments slice after slice."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from brainmets.db.models import Result


def set_progress(session: Session, result_id: int, done: int, total: int) -> None:
    session.execute(update(Result).where(Result.id == result_id).values(progress={"done": done, "total": total}))
