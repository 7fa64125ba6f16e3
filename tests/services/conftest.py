"""Fixtures for the service tests: tiny model artifacts, embedded runtimes and apps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from brainmets.config import Settings
from brainmets.db import make_engine, make_sessionmaker
from brainmets.db.migrate import upgrade
from services.core.runtime import Runtime
from services.embedded.main import build_embedded
from tests.services.artifacts import make_tiny_artifacts
from tests.services.endpoints import fresh_database, unreachable_reason


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_artifacts(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture
def embedded_settings(tmp_path: Path, tiny_artifacts: Path) -> Settings:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>BrainMets</title>")
    return Settings(
        VAR_DIR=tmp_path / "var",
        ARTIFACTS_DIR=tiny_artifacts,
        WEB_DIR=web,
        RETRY_BASE_DELAY_S=0.05,
        RETRY_MAX_DELAY_S=0.2,
        RELAY_INTERVAL_S=0.2,
        EVENTS_POLL_S=0.05,
    )


@pytest.fixture
def embedded(embedded_settings: Settings) -> Iterator[tuple[Runtime, FastAPI, TestClient]]:
    upgrade(embedded_settings.database_url)
    runtime, app = build_embedded(embedded_settings)
    with TestClient(app) as client:
        yield runtime, app, client


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on SQLite and, when the local Postgres answers, on Postgres."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    reason = unreachable_reason()
    if reason and "Postgres" in reason:
        pytest.skip(reason)
    with fresh_database() as url:
        yield url


@pytest.fixture
def sessions(database_url: str):
    upgrade(database_url, wait_s=5)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
