"""``POST /api/scans``: the HTTP side of an upload (parse, validate, answer); ``intake.create_scan`` stores it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Annotated, BinaryIO, TypeVar

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status

from brainmets.catalog import MODEL_NAMES
from brainmets.config import Settings
from brainmets.volumes.limits import VolumeLimits
from services.core.auth import Principal, PrincipalDep
from services.core.deps import RuntimeDep
from services.core.links import scan_links
from services.gateway.intake import create_scan
from services.gateway.schemas import Problem, ScanAccepted
from services.gateway.validation import Limits, UploadRejected, validate_upload
from services.gateway.volume_intake import create_volume_scan
from services.gateway.volume_validation import SNIFF_BYTES, is_volume, validate_volume_upload

router = APIRouter(prefix="/api", tags=["gateway"])

Upload = TypeVar("Upload")
_ERRORS = {code: {"model": Problem} for code in (400, 401, 413, 415, 422, 429, 503)}


@router.post("/scans", status_code=status.HTTP_202_ACCEPTED, response_model=ScanAccepted, responses=_ERRORS)
def upload_scan(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    image: Annotated[
        UploadFile,
        File(description="MRI slice (PNG, JPEG or TIFF, 8- or 16-bit), NIfTI volume, or zip of one DICOM MR series"),
    ],
    ground_truth: Annotated[
        UploadFile | None, File(description="optional binary mask, same size (NIfTI on the same grid for volumes)")
    ] = None,
    models: Annotated[str | None, Form(description="comma-separated subset of the models")] = None,
) -> ScanAccepted:
    """Accept a scan and queue it for every requested model."""
    settings = runtime.settings
    if principal is not None:
        # Per account; without sign-in every client may sit behind one proxy address, so none is limited.
        request.app.state.upload_limiter.check(f"account:{principal.account_id}")
    limits = Limits(settings.MAX_UPLOAD_BYTES, settings.MAX_PIXELS, settings.MIN_SIDE)
    # The kind is told from the first bytes, so that a slice is never read past the slice limit.
    if is_volume(_read(image, SNIFF_BYTES)):
        scan_id, chosen = accept_volume(runtime, image, ground_truth, models, principal)
        return ScanAccepted(id=scan_id, status="queued", models=chosen, links=scan_links(scan_id))
    data = _read(image, limits.max_bytes)
    truth = None if ground_truth is None else _read(ground_truth, limits.max_bytes)
    upload = _validated(validate_upload, data, truth, models, limits, settings)
    scan_id = create_scan(
        runtime,
        upload,
        original=_original_bytes(image),
        filename=_safe_filename(image.filename),
        owner_id=None if principal is None else principal.account_id,
    )
    return ScanAccepted(id=scan_id, status="queued", models=list(upload.models), links=scan_links(scan_id))


def _validated(
    validate: Callable[..., Upload],
    data: bytes | BinaryIO,
    truth: bytes | BinaryIO | None,
    models: str | None,
    limits: Limits | VolumeLimits,
    settings: Settings,
) -> Upload:
    """``validate`` (a slice's or a volume's rules) on the upload, its refusal as the HTTP error it names."""
    try:
        return validate(data, truth, models, limits, MODEL_NAMES, settings.default_models)
    except UploadRejected as exc:
        raise HTTPException(exc.status_code, exc.detail) from None


def _read(upload: UploadFile, max_bytes: int) -> bytes:
    # One byte over the limit is enough to know it is too big.
    upload.file.seek(0)
    return upload.file.read(max_bytes + 1)


def accept_volume(
    runtime: RuntimeDep,
    image: UploadFile,
    ground_truth: UploadFile | None,
    models: str | None,
    principal: Principal | None,
) -> tuple[str, list[str]]:
    """Validate and store a volume upload; returns the scan id and its models.

    The multipart parser has spooled each file to disk past its first megabyte; the readers take those files
    and read them in pieces, so a study of up to ``MAX_VOLUME_UPLOAD_BYTES`` is never held whole in memory.
    """
    settings = runtime.settings
    limits = VolumeLimits.from_settings(settings)
    truth = None if ground_truth is None else ground_truth.file
    upload = _validated(validate_volume_upload, image.file, truth, models, limits, settings)
    scan_id = create_volume_scan(
        runtime,
        upload,
        filename=_safe_filename(image.filename),
        owner_id=None if principal is None else principal.account_id,
    )
    return scan_id, list(upload.models)


def _original_bytes(upload: UploadFile) -> bytes:
    upload.file.seek(0)
    return upload.file.read()


def _safe_filename(name: str | None) -> str:
    """Only the base name, printable and bounded: it is shown back to people, never used as a path."""
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable())[:200]
    return cleaned or "upload"
