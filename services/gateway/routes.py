"""``POST /api/scans``: the HTTP side of an upload (parse, validate, answer); ``intake.create_scan`` stores it."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status

from brainmets.catalog import MODEL_NAMES
from services.core.auth import PrincipalDep
from services.core.deps import RuntimeDep
from services.core.links import scan_links
from services.gateway.intake import create_scan
from services.gateway.schemas import Problem, ScanAccepted
from services.gateway.validation import Limits, UploadRejected, validate_upload

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
    scan_id = create_scan(
        runtime,
        upload,
        original=_original_bytes(image),
        filename=_safe_filename(image.filename),
        owner_id=None if principal is None else principal.account_id,
    )
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
