"""Migrations and the result rules, on SQLite and on a fresh Postgres database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from brainmets.db import Result, ResultStatus, Scan, make_engine
from brainmets.db.migrate import upgrade
from brainmets.db.scans import add_scan, claim_result, complete_result, count_results, fail_result, pending_outbox


def _scan(session, scan_id: str = "a" * 32) -> Scan:
    scan = Scan(
        id=scan_id,
        created_at=datetime.now(UTC),
        filename="s.png",
        content_type="image/png",
        width=64,
        height=64,
        models=["unetpp"],
        image_key=f"scans/{scan_id}/original",
        display_key=f"scans/{scan_id}/display.png",
    )
    add_scan(session, scan, [("unetpp", {"scan_id": scan_id})])
    return scan


def test_migration_creates_every_table_and_is_repeatable(database_url, sessions) -> None:
    upgrade(database_url, wait_s=5)  # a second run is a no-op
    engine = sessions.kw["bind"]
    tables = set(inspect(engine).get_table_names())
    assert {"scans", "outbox", "results", "model_versions", "rate_buckets", "web_sessions", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"


def test_scan_and_outbox_commit_together(sessions) -> None:
    with sessions.begin() as session:
        _scan(session)
    with sessions() as session:
        pending = pending_outbox(session)
        assert [(m.scan_id, m.model) for m in pending] == [("a" * 32, "unetpp")]


def test_claim_is_idempotent_and_a_done_result_is_never_redone(sessions) -> None:
    with sessions.begin() as session:
        _scan(session)
    with sessions.begin() as session:
        first = claim_result(session, "a" * 32, "unetpp", "v1")
        assert first is not None and first.status == ResultStatus.RUNNING and first.attempts == 1
        result_id = first.id
    with sessions.begin() as session:
        again = claim_result(session, "a" * 32, "unetpp", "v1")  # redelivery after a crash takes over
        assert again is not None and again.id == result_id and again.attempts == 2
    with sessions.begin() as session:
        complete_result(session, result_id, device="cpu", inference_ms=1.0, lesion_area_px=3)
    with sessions.begin() as session:
        assert claim_result(session, "a" * 32, "unetpp", "v1") is None
        fail_result(session, "a" * 32, "unetpp", "v1", "late failure")  # must not undo a done result
    with sessions() as session:
        assert count_results(session) == {("a" * 32, "unetpp"): 1}
        assert session.get(Result, result_id).status == ResultStatus.DONE


def test_one_result_per_scan_model_and_version(sessions) -> None:
    with sessions.begin() as session:
        _scan(session)
        session.add(Result(scan_id="a" * 32, model="unetpp", model_version="v1"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Result(scan_id="a" * 32, model="unetpp", model_version="v1"))


def test_a_job_for_a_missing_scan_claims_nothing(sessions) -> None:
    with sessions.begin() as session:
        assert claim_result(session, "b" * 32, "unetpp", "v1") is None
        fail_result(session, "b" * 32, "unetpp", "v1", "no scan")
    with sessions() as session:
        assert count_results(session) == {}


def test_concurrent_migrations_do_not_collide(database_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: upgrade(database_url, wait_s=5), range(3)))
    engine = make_engine(database_url)
    assert {"scans", "results"} <= set(inspect(engine).get_table_names())
    engine.dispose()
