"""Browser sessions: opened with a live token, ended by sign-out, by expiry, or by revoking that token.

The cookie carries a random session id, never the token: a copied cookie dies at sign-out, and rotating an
account's token ends every session opened with the old one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from brainmets.db.accounts import as_utc, is_live
from brainmets.db.models import Account, ApiToken, WebSession


def open_session(session: Session, token: ApiToken, session_sha256: str, expires_at: datetime) -> None:
    """Store a new session; ended ones are swept out here, so the table holds about the live ones only."""
    session.execute(
        delete(WebSession).where(or_(WebSession.revoked.is_(True), WebSession.expires_at <= datetime.now(UTC)))
    )
    session.add(WebSession(token_id=token.id, session_sha256=session_sha256, expires_at=expires_at))


def account_for_session(session: Session, session_sha256: str) -> Account | None:
    """The account behind a live session whose token is live too; ``None`` otherwise."""
    row = session.scalar(
        select(WebSession)
        .where(WebSession.session_sha256 == session_sha256)
        .options(selectinload(WebSession.token).selectinload(ApiToken.account))
    )
    if row is None or row.revoked or as_utc(row.expires_at) <= datetime.now(UTC) or not is_live(row.token):
        return None
    return row.token.account


def close_session(session: Session, session_sha256: str) -> None:
    session.execute(update(WebSession).where(WebSession.session_sha256 == session_sha256).values(revoked=True))
