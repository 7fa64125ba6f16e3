"""Database: SQLAlchemy models, engine and session helpers, queries, and Alembic migrations."""

from brainmets.db.models import (
    Account,
    AccountRole,
    ApiToken,
    Base,
    ModelVersion,
    OutboxMessage,
    RateBucket,
    Result,
    ResultStatus,
    Scan,
    WebSession,
)
from brainmets.db.session import make_engine, make_sessionmaker, ping, wait_for_database

__all__ = [
    "Account",
    "AccountRole",
    "ApiToken",
    "Base",
    "ModelVersion",
    "OutboxMessage",
    "RateBucket",
    "Result",
    "ResultStatus",
    "Scan",
    "WebSession",
    "make_engine",
    "make_sessionmaker",
    "ping",
    "wait_for_database",
]
