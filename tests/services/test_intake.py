"""``create_scan``: objects first, then the scan row and its outbox rows in one transaction; no half-made scan."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainmets.config import Settings
from brainmets.db import OutboxMessage, Scan
from brainmets.db.migrate import upgrade
from brainmets.messaging import JobMessage
from brainmets.storage import LocalStore
from services.core.runtime import Runtime, build_runtime
from services.gateway import intake
from services.gateway.intake import create_scan
from services.gateway.validation import Limits, ValidUpload, validate_upload
from tests.services.synthetic import head_slice, mask_bytes, png_bytes

MODELS = ("unetpp", "attention_unet")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(VAR_DIR=tmp_path / "var", ARTIFACTS_DIR=tmp_path / "none")
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


def _upload() -> tuple[ValidUpload, bytes]:
    image, mask = head_slice(48, seed=3)
    original = png_bytes(image)
    limits = Limits(max_bytes=10_000_000, max_pixels=10_000_000, min_side=32)
    return validate_upload(original, mask_bytes(mask), None, limits, MODELS, MODELS), original


def _objects(runtime: Runtime) -> list[str]:
    root = runtime.settings.objects_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _rows(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        return session.query(Scan).count(), session.query(OutboxMessage).count()


def test_a_scan_is_stored_with_its_objects_and_one_job_per_model(runtime: Runtime) -> None:
    upload, original = _upload()
    scan_id = create_scan(runtime, upload, original=original, filename="a.png", owner_id=None)
    prefix = f"scans/{scan_id}"
    assert _objects(runtime) == [f"{prefix}/display.png", f"{prefix}/ground-truth.png", f"{prefix}/original"]
    assert runtime.store.get(f"{prefix}/original") == original
    with runtime.sessions() as session:
        scan = session.get(Scan, scan_id)
        assert scan is not None
        assert (scan.filename, scan.width, scan.height, scan.models) == ("a.png", 48, 48, list(MODELS))
        assert scan.ground_truth_key == f"{prefix}/ground-truth.png"
        jobs = {row.model: JobMessage.model_validate(row.payload) for row in session.query(OutboxMessage)}
    assert set(jobs) == set(MODELS)
    assert all(job.scan_id == scan_id and job.image_key == f"{prefix}/original" for job in jobs.values())
    assert runtime.outbox_wakeup.is_set()  # the relay publishes without waiting for its next poll


def test_when_the_rows_fail_the_objects_are_removed(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(intake, "add_scan", fail)
    upload, original = _upload()
    with pytest.raises(RuntimeError, match="database down"):
        create_scan(runtime, upload, original=original, filename="a.png", owner_id=None)
    assert _objects(runtime) == [] and _rows(runtime) == (0, 0)
    assert not runtime.outbox_wakeup.is_set()


class _StoreThatFails(LocalStore):
    """Writes the first ``puts`` objects, then fails; deletes only when ``can_delete``."""

    def __init__(self, root: Path, puts: int, can_delete: bool) -> None:
        super().__init__(root)
        self.puts = puts
        self.can_delete = can_delete

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if self.puts == 0:
            raise OSError("store full")
        self.puts -= 1
        super().put(key, data, content_type)

    def delete(self, key: str) -> None:
        if not self.can_delete:
            raise OSError("store gone")
        super().delete(key)


def test_a_failed_put_removes_what_was_written(runtime: Runtime) -> None:
    runtime.store = _StoreThatFails(runtime.settings.objects_dir, puts=1, can_delete=True)
    upload, original = _upload()
    with pytest.raises(OSError, match="store full"):
        create_scan(runtime, upload, original=original, filename="a.png", owner_id=None)
    assert _objects(runtime) == [] and _rows(runtime) == (0, 0)


def test_objects_that_cannot_be_removed_are_logged_and_the_first_error_raised(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.store = _StoreThatFails(runtime.settings.objects_dir, puts=2, can_delete=False)
    upload, original = _upload()
    with caplog.at_level(logging.WARNING, logger=intake.__name__), pytest.raises(OSError, match="store full"):
        create_scan(runtime, upload, original=original, filename="a.png", owner_id=None)
    # Both objects are orphans the warning names; no row points at them, so no scan is visible.
    assert len(_objects(runtime)) == 2 and _rows(runtime) == (0, 0)
    assert caplog.text.count("could not remove orphan object") == 2
