"""Fuzz every operation from the OpenAPI schema (schemathesis): no input may produce a 5xx (issue 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from brainmets.config import Settings
from brainmets.db.migrate import upgrade
from services.embedded.main import build_embedded
from tests.services.artifacts import make_tiny_artifacts


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(VAR_DIR=root / "var", ARTIFACTS_DIR=make_tiny_artifacts(root / "artifacts"), WEB_DIR=root)
    upgrade(settings_.database_url)
    _runtime, app = build_embedded(settings_)
    with TestClient(app):  # runs the lifespan: relay and workers, as in production
        yield app


def test_no_operation_answers_with_a_server_error(fuzzed_app) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case) -> None:
            response = case.call()
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        call()
    assert not failures, "\n".join(failures[:10])


def test_the_schema_lists_every_public_route(fuzzed_app) -> None:
    paths = set(TestClient(fuzzed_app).get("/openapi.json").json()["paths"])
    assert {"/api/scans", "/api/scans/{scan_id}", "/api/scans/{scan_id}/events", "/api/models", "/readyz"} <= paths
    assert not any(Path(p).name == "" for p in paths)
