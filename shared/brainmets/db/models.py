"""Tables: scans, the outbox of jobs written with them, per-model results, and registered model versions.

A result is unique per (scan, model, model version): however often a job is delivered, one row exists.
A scan with no result row yet for a model shows that model as ``queued``.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ResultStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AccountRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class Account(Base):
    """Who uploads: a user sees only their own scans, an admin sees all."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=AccountRole.USER.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == AccountRole.ADMIN.value


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship()


class WebSession(Base):
    """A browser sign-in: a random id in an HttpOnly cookie, stored hashed, that lives no longer than the token
    it was opened with (revoking or rotating that token ends it) and is revoked on sign-out."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    token: Mapped[ApiToken] = relationship()


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    models: Mapped[list[str]] = mapped_column(JSON)
    image_key: Mapped[str] = mapped_column(String(255))
    display_key: Mapped[str] = mapped_column(String(255))
    ground_truth_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="slice", server_default="slice")
    # Volumes only: shape, spacing_mm, slices and where the source series is kept (see brainmets.volumes).
    volume: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    results: Mapped[list[Result]] = relationship(
        back_populates="scan", cascade="all, delete-orphan", order_by="Result.id"
    )


class OutboxMessage(Base):
    """A job to publish, written in the scan's own transaction; the relay marks it sent once confirmed."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("scan_id", "model", "model_version", name="uq_result_scan_model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=ResultStatus.RUNNING.value)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[str | None] = mapped_column(String(32), nullable=True)
    inference_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    lesion_area_px: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    mask_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    probability_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attention_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Volumes only: {done, total} slices while the worker runs, the lesion list, lesion-wise detection.
    progress: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    lesions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    detection: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    seg_key: Mapped[str | None] = mapped_column(String(255), nullable=True)  # DICOM SEG, for DICOM uploads
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    scan: Mapped[Scan] = relationship(back_populates="results")


class RateBucket(Base):
    """A token bucket (uploads per account), in the database so that every gateway replica draws on the same one."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    # Seconds since the epoch: the bucket refills by the time elapsed since this stamp.
    refreshed_at: Mapped[float] = mapped_column(Float)


class ModelVersion(Base):
    """A model a worker has served, with its model card, so the API can describe it."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(128))
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
