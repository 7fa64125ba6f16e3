"""Creating a scan from a validated upload: store its objects, then commit the scan row and its jobs.

The order is the guarantee: objects first, then the scan row and one outbox row per model in one transaction. If
the rows fail, the objects just written are removed, so no half-made scan is visible; if the removal fails too,
the orphans are only logged (no row points at them). Nothing here knows about HTTP, so the route stays a thin
parse, validate and answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from brainmets import telemetry
from brainmets.db import Scan
from brainmets.db.scans import add_scan
from brainmets.logcontext import current, log_context
from brainmets.messaging import JobMessage
from brainmets.storage import ObjectStore
from brainmets.storage.base import Payload
from services.core.pngs import display_png, mask_png
from services.core.runtime import Runtime
from services.gateway.validation import ValidUpload

LOGGER = logging.getLogger(__name__)


def create_scan(runtime: Runtime, upload: ValidUpload, *, original: bytes, filename: str, owner_id: int | None) -> str:
    """Store ``upload`` as a new scan queued for each of its models and wake the outbox relay; returns the scan id.

    ``original`` is the uploaded file as sent (kept so the scan can be read back exactly), ``filename`` an already
    sanitised name shown back to people, ``owner_id`` the uploading account or ``None`` without sign-in.
    """
    scan_id = uuid.uuid4().hex
    keys, objects = _objects(scan_id, upload, original)
    commit_scan(runtime, objects, *_rows(scan_id, keys, upload, filename, owner_id), kind="slice")
    with log_context(scan_id=scan_id):
        LOGGER.info("scan %s accepted for %s", scan_id, ",".join(upload.models))
    return scan_id


def commit_scan(
    runtime: Runtime,
    objects: dict[str, tuple[Payload, str]],
    scan: Scan,
    jobs: list[tuple[str, dict[str, Any]]],
    *,
    kind: str,
) -> None:
    """Store ``objects`` (key: bytes or a file, and content type), then commit ``scan`` and its jobs, wake the relay and
    count the upload as ``kind``; on failure remove what was stored and raise."""
    written: list[str] = []
    try:
        for key, (data, content_type) in objects.items():
            runtime.store.put(key, data, content_type)
            written.append(key)
        with runtime.sessions.begin() as session:
            add_scan(session, scan, jobs)
    except Exception:
        _remove_orphans(runtime.store, written)
        raise
    runtime.outbox_wakeup.set()
    telemetry.count_scan(kind)


def job_payloads(
    scan_id: str, models: list[str], keys: dict[str, str], width: int, height: int, now: datetime, **extra: Any
) -> list[tuple[str, dict[str, Any]]]:
    """One (model, job payload) per model, for ``add_scan``: the image and ground-truth keys by role, ``extra``
    job fields (a volume's kind and series), and the upload's request id so the workers' log lines join up."""
    return [
        (
            model,
            JobMessage(
                scan_id=scan_id,
                model=model,
                image_key=keys["image"],
                ground_truth_key=keys.get("ground_truth"),
                width=width,
                height=height,
                created_at=now,
                request_id=current("request_id"),
                **extra,
            ).model_dump(mode="json"),
        )
        for model in models
    ]


def _objects(scan_id: str, upload: ValidUpload, original: bytes) -> tuple[dict[str, str], dict[str, tuple[bytes, str]]]:
    """The object keys by role (image, display, ground_truth) and the bytes and content type to store at each."""
    prefix = f"scans/{scan_id}"
    keys = {"image": f"{prefix}/original", "display": f"{prefix}/display.png"}
    objects = {
        keys["image"]: (original, upload.content_type),
        keys["display"]: (display_png(upload.image), "image/png"),
    }
    if upload.ground_truth is not None:
        keys["ground_truth"] = f"{prefix}/ground-truth.png"
        objects[keys["ground_truth"]] = (mask_png(upload.ground_truth), "image/png")
    return keys, objects


def _rows(
    scan_id: str, keys: dict[str, str], upload: ValidUpload, filename: str, owner_id: int | None
) -> tuple[Scan, list[tuple[str, dict[str, Any]]]]:
    """The scan row and one (model, job payload) per model, for ``add_scan`` to commit together."""
    height, width = upload.image.shape
    scan = new_scan(scan_id, keys, filename, upload.content_type, (width, height), upload.models, owner_id)
    return scan, job_payloads(scan_id, list(upload.models), keys, width, height, scan.created_at)


def new_scan(
    scan_id: str,
    keys: dict[str, str],
    filename: str,
    content_type: str,
    size: tuple[int, int],
    models: Sequence[str],
    owner_id: int | None,
    **extra: Any,
) -> Scan:
    """The scan row of an upload (a slice, or a volume with ``extra`` columns), created now."""
    return Scan(
        id=scan_id,
        created_at=datetime.now(UTC),
        filename=filename,
        content_type=content_type,
        width=size[0],
        height=size[1],
        models=list(models),
        image_key=keys["image"],
        display_key=keys["display"],
        ground_truth_key=keys.get("ground_truth"),
        owner_id=owner_id,
        **extra,
    )


def _remove_orphans(store: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except Exception:
            LOGGER.warning("could not remove orphan object %s", key)
