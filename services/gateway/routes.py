"""``POST /api/scans``: validate, store the objects, then commit the scan and its jobs in one transaction."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status

from brainmets.catalog import MODEL_NAMES
from brainmets.db import Scan
from brainmets.db.crud import add_scan
from brainmets.messaging import JobMessage
from services.core.auth import PrincipalDep
from services.core.deps import RuntimeDep
from services.core.links import scan_links
from services.core.pngs import display_png, mask_png
from services.core.runtime import Runtime
from services.gateway.schemas import Problem, ScanAccepted
from services.gateway.validation import Limits, UploadRejected, ValidUpload, validate_upload

LOGGER = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["gateway"])

_ERRORS = {code: {"model": Problem} for code in (400, 401, 413, 415, 422, 429, 503)}


@router.post("/scans", status_code=status.HTTP_202_ACCEPTED, response_model=ScanAccepted, responses=_ERRORS)
def upload_scan(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    image: Annotated[UploadFile, File(description="MRI slice: PNG, JPEG or TIFF, 8- or 16-bit")],
    ground_truth: Annotated[UploadFile | None, File(description="optional binary mask, same size")] = None,
    models: Annotated[str | None, Form(description="comma-separated subset of the models")] = None,
) -> ScanAccepted:
    """Accept a scan and queue it for every requested model."""
    settings = runtime.settings
    if principal is not None:
        # Per account; without sign-in every client may sit behind one proxy address, so none is limited.
        request.app.state.upload_limiter.check(f"account:{principal.account_id}")
    limits = Limits(settings.MAX_UPLOAD_BYTES, settings.MAX_PIXELS, settings.MIN_SIDE)
    try:
        upload = validate_upload(
            _read(image, limits),
            None if ground_truth is None else _read(ground_truth, limits),
            models,
            limits,
            MODEL_NAMES,
            settings.default_models,
        )
    except UploadRejected as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    scan_id = uuid.uuid4().hex
    owner = None if principal is None else principal.account_id
    _store_scan(runtime, scan_id, _safe_filename(image.filename), upload, _original_bytes(image), owner)
    runtime.outbox_wakeup.set()
    LOGGER.info("scan %s accepted for %s", scan_id, ",".join(upload.models))
    return ScanAccepted(id=scan_id, status="queued", models=list(upload.models), links=scan_links(scan_id))


def _read(upload: UploadFile, limits: Limits) -> bytes:
    # One byte over the limit is enough to know it is too big.
    upload.file.seek(0)
    return upload.file.read(limits.max_bytes + 1)


def _original_bytes(upload: UploadFile) -> bytes:
    upload.file.seek(0)
    return upload.file.read()


def _safe_filename(name: str | None) -> str:
    """Only the base name, printable and bounded: it is shown back to people, never used as a path."""
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable())[:200]
    return cleaned or "upload"


def _store_scan(
    runtime: Runtime, scan_id: str, filename: str, upload: ValidUpload, original: bytes, owner_id: int | None
) -> None:
    """Objects first, then the rows; if the rows fail, the objects are removed and no scan is visible."""
    prefix = f"scans/{scan_id}"
    keys = {"image": f"{prefix}/original", "display": f"{prefix}/display.png"}
    objects = {
        keys["image"]: (original, upload.content_type),
        keys["display"]: (display_png(upload.image), "image/png"),
    }
    if upload.ground_truth is not None:
        keys["ground_truth"] = f"{prefix}/ground-truth.png"
        objects[keys["ground_truth"]] = (mask_png(upload.ground_truth), "image/png")
    written: list[str] = []
    try:
        for key, (data, content_type) in objects.items():
            runtime.store.put(key, data, content_type)
            written.append(key)
        height, width = upload.image.shape
        now = datetime.now(UTC)
        scan = Scan(
            id=scan_id,
            created_at=now,
            filename=filename,
            content_type=upload.content_type,
            width=width,
            height=height,
            models=list(upload.models),
            image_key=keys["image"],
            display_key=keys["display"],
            ground_truth_key=keys.get("ground_truth"),
            owner_id=owner_id,
        )
        jobs = [
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
                ).model_dump(mode="json"),
            )
            for model in upload.models
        ]
        with runtime.sessions.begin() as session:
            add_scan(session, scan, jobs)
    except Exception:
        _remove_orphans(runtime, written)
        raise


def _remove_orphans(runtime: Runtime, keys: list[str]) -> None:
    for key in keys:
        try:
            runtime.store.delete(key)
        except Exception:
            LOGGER.warning("could not remove orphan object %s", key)
