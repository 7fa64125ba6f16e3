"""Read-only routes over scans, results, images and models."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from brainmets.catalog import ATTENTION_MAP_MODELS, DISPLAY_NAMES, MODEL_NAMES, find_cards
from brainmets.db import Scan
from brainmets.db.scans import get_scan, latest_model_versions, list_scans
from brainmets.imaging.formats import MEDIA_TYPES, VOLUME_MEDIA_TYPES
from brainmets.storage import ObjectNotFound
from services.core.auth import Principal, PrincipalDep, can_see, owner_filter
from services.core.deps import RuntimeDep, SessionDep
from services.core.links import result_links, scan_links
from services.results_api.events import scan_events
from services.results_api.schemas import (
    AppConfig,
    ModelEntry,
    ModelList,
    ModelPublic,
    ScanPage,
    ScanPublic,
    UploadRules,
)
from services.results_api.views import latest_results, scan_view

LOGGER = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["results"])

_SCAN_ID = re.compile(r"^[0-9a-f]{32}$")
_NOT_FOUND = {404: {"description": "no such scan, model or image"}}
_PNG = {200: {"content": {"image/png": {}}, "description": "PNG image"}, **_NOT_FOUND}
ScanId = Annotated[str, Path(description="the scan's id, 32 hex digits", max_length=64)]


def _scan_or_404(session: SessionDep, scan_id: str, principal: Principal | None) -> Scan:
    scan = get_scan(session, scan_id) if _SCAN_ID.match(scan_id) else None
    # Someone else's scan is "not found" too, so that ids reveal nothing.
    if scan is None or not can_see(principal, scan):
        raise HTTPException(404, "no scan with that id")
    return scan


def _model_or_404(model: str) -> str:
    if model not in MODEL_NAMES:
        raise HTTPException(404, f"no model of that name; choose from {', '.join(MODEL_NAMES)}")
    return model


def _png(runtime: RuntimeDep, key: str | None, what: str) -> Response:
    if key is None:
        raise HTTPException(404, f"this scan has no {what}")
    if not key.endswith(".png"):
        # A volume's objects are NIfTI: its slices are served under /slices/{k}/.
        raise HTTPException(404, f"this scan is a volume; its {what} is served per slice under /slices/{{k}}/")
    try:
        data = runtime.store.get(key)
    except ObjectNotFound:
        raise HTTPException(404, f"the {what} is missing from the store") from None
    # Objects never change under a key, so the browser may keep them.
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/scans", response_model=ScanPage)
def read_scans(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ScanPage:
    """Scans, newest first."""
    scans, total = list_scans(session, limit, offset, owner_filter(principal))
    return ScanPage(items=[scan_view(s) for s in scans], total=total, limit=limit, offset=offset)


@router.get("/scans/{scan_id}", response_model=ScanPublic, responses=_NOT_FOUND)
def read_scan(session: SessionDep, principal: PrincipalDep, scan_id: ScanId) -> ScanPublic:
    """One scan with every requested model's result."""
    return scan_view(_scan_or_404(session, scan_id, principal))


@router.get("/scans/{scan_id}/events", responses=_NOT_FOUND)
async def read_scan_events(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, scan_id: ScanId
) -> StreamingResponse:
    """Server-Sent Events: the scan's JSON each time it changes; the stream ends once every model is final."""
    with runtime.sessions() as session:
        _scan_or_404(session, scan_id, principal)
    return StreamingResponse(
        scan_events(request, runtime, scan_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/scans/{scan_id}/image", response_class=Response, responses=_PNG)
def read_image(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId) -> Response:
    """The slice as an 8-bit PNG for display."""
    return _png(runtime, _scan_or_404(session, scan_id, principal).display_key, "image")


@router.get("/scans/{scan_id}/ground-truth", response_class=Response, responses=_PNG)
def read_ground_truth(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId) -> Response:
    """The uploaded ground-truth mask (0/255 PNG)."""
    return _png(runtime, _scan_or_404(session, scan_id, principal).ground_truth_key, "ground truth")


@router.get("/scans/{scan_id}/masks/{model}", response_class=Response, responses=_PNG)
def read_mask(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, model: str
) -> Response:
    """A model's predicted mask (0/255 PNG)."""
    result = latest_results(_scan_or_404(session, scan_id, principal)).get(_model_or_404(model))
    return _png(runtime, None if result is None else result.mask_key, f"{model} mask yet")


@router.get("/scans/{scan_id}/probability/{model}", response_class=Response, responses=_PNG)
def read_probability(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, model: str
) -> Response:
    """A model's lesion probability map (8-bit PNG, 255 = 1.0)."""
    result = latest_results(_scan_or_404(session, scan_id, principal)).get(_model_or_404(model))
    return _png(runtime, None if result is None else result.probability_key, f"{model} probability map yet")


@router.get("/scans/{scan_id}/attention", response_class=Response, responses=_PNG)
def read_attention(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId) -> Response:
    """The Attention U-Net's finest attention gate coefficients (8-bit PNG, 255 = 1.0)."""
    results = latest_results(_scan_or_404(session, scan_id, principal))
    key = next((r.attention_key for r in results.values() if r.attention_key), None)
    return _png(runtime, key, "attention map yet")


@router.get("/models", response_model=ModelList)
def read_models(session: SessionDep, runtime: RuntimeDep) -> ModelList:
    """Each model's version, size and metrics from its model card (as registered by its workers)."""
    cards = {name: row.card for name, row in latest_model_versions(session).items()}
    try:
        for name, card in find_cards(runtime.settings.ARTIFACTS_DIR).items():
            cards.setdefault(name, card)
    except (OSError, ValueError):
        LOGGER.warning("could not read model cards under %s", runtime.settings.ARTIFACTS_DIR)
    models = [
        ModelPublic.model_validate({**cards[name], "display_name": DISPLAY_NAMES.get(name, name)})
        for name in MODEL_NAMES
        if name in cards
    ]
    return ModelList(models=models)


@router.get("/config", response_model=AppConfig)
def read_config(request: Request, runtime: RuntimeDep) -> AppConfig:
    """What the web app needs to know about this server: the models in display order, upload rules, URLs."""
    settings = runtime.settings
    # The scan templates are the links themselves, built with placeholders; the others are the routes' own paths.
    routes = {"scans": "read_scans", "models": "read_models", "me": "read_me", "session": "sign_in"}
    urls = {key: request.app.url_path_for(name) for key, name in routes.items()}
    urls |= {**scan_links("{id}"), **result_links("{id}", "{model}", has_attention=True)}
    return AppConfig(
        models=[
            ModelEntry(
                name=name, display_name=DISPLAY_NAMES.get(name, name), attention_map=name in ATTENTION_MAP_MODELS
            )
            for name in MODEL_NAMES
        ],
        upload=UploadRules(
            max_bytes=settings.MAX_UPLOAD_BYTES,
            media_types={kind: list(extensions) for kind, extensions in MEDIA_TYPES.items()},
            default_models=list(settings.default_models),
            volume_max_bytes=settings.MAX_VOLUME_UPLOAD_BYTES,
            volume_media_types={kind: list(extensions) for kind, extensions in VOLUME_MEDIA_TYPES.items()},
        ),
        urls=urls,
    )
