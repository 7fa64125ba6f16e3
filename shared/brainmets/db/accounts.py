"""Accounts and their API tokens, and seeding the deployment's admin account.

Kept apart from the scan pipeline's queries: sign-in, the accounts command and the migration job use these, and
none of them needs to know about scans.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from brainmets.db.models import Account, AccountRole, ApiToken

ADMIN_ACCOUNT = "admin"


def create_account(session: Session, name: str, role: str = AccountRole.USER.value) -> Account:
    account = Account(name=name, role=role)
    session.add(account)
    session.flush()
    return account


def token_digest(token: str) -> str:
    """The SHA-256 a token is stored as; the token itself never is."""
    return hashlib.sha256(token.encode()).hexdigest()


def seed_admin(session: Session, token: str) -> None:
    """Make the ``admin`` account hold exactly ``token`` (the deployment's ADMIN_TOKEN); safe to repeat.

    Creates or promotes the account; a changed token revokes the previous ones, so rotating is changing the secret.
    """
    digest = token_digest(token)
    account = get_account(session, ADMIN_ACCOUNT) or create_account(session, ADMIN_ACCOUNT, AccountRole.ADMIN.value)
    account.role = AccountRole.ADMIN.value
    held = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest))
    if held is not None and held.account_id != account.id:
        raise ValueError("ADMIN_TOKEN is another account's token already: choose a new random one")
    session.execute(
        update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.token_sha256 != digest).values(revoked=True)
    )
    if held is None:
        add_token(session, account, digest)
    else:
        held.revoked, held.expires_at = False, None


def add_token(session: Session, account: Account, token_sha256: str, expires_at: datetime | None = None) -> None:
    session.add(ApiToken(account_id=account.id, token_sha256=token_sha256, expires_at=expires_at))


def account_for_token(session: Session, token_sha256: str) -> Account | None:
    """The account a live token belongs to; ``None`` for unknown, revoked or expired tokens."""
    token = live_token(session, token_sha256)
    return None if token is None else token.account


def live_token(session: Session, token_sha256: str) -> ApiToken | None:
    """The token row, if it exists and is neither revoked nor expired."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256).options(selectinload(ApiToken.account))
    )
    return token if token is not None and is_live(token) else None


def is_live(token: ApiToken) -> bool:
    if token.revoked:
        return False
    return token.expires_at is None or as_utc(token.expires_at) > datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rotate_token(session: Session, account: Account, token_sha256: str, expires_at: datetime | None = None) -> None:
    """Revoke every token of ``account`` (and so every browser session opened with one) and add a new one."""
    session.execute(update(ApiToken).where(ApiToken.account_id == account.id).values(revoked=True))
    add_token(session, account, token_sha256, expires_at)


def get_account(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name == name))
