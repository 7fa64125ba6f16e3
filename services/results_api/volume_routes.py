"""Routes over volume scans: the NIfTI masks as stored, and per-slice PNGs for the viewer.

Slice PNGs are cut from the stored volumes; a decoded volume stays in a small in-process cache (objects never
change under a key), so scrubbing through slices reads each volume once, not once per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Response

from brainmets.db import Scan
from brainmets.storage import ObjectNotFound, ObjectStore
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import mask_from_volume, read_nifti
from brainmets.volumes.orientation import to_canonical
from services.core.auth import PrincipalDep
from services.core.deps import RuntimeDep, SessionDep
from services.core.volume_pngs import display_volume, slice_png
from services.results_api.routes import ScanId, _model_or_404, _scan_or_404
from services.results_api.views import latest_results

router = APIRouter(prefix="/api", tags=["volumes"])

_NOT_FOUND = {404: {"description": "no such scan, model, slice, or not a volume"}}
_NIFTI = {200: {"content": {"application/gzip": {}}, "description": "NIfTI-1, gzipped"}, **_NOT_FOUND}
_SEG = {200: {"content": {"application/dicom": {}}, "description": "DICOM Segmentation"}, **_NOT_FOUND}
_PNG = {200: {"content": {"image/png": {}}, "description": "PNG image"}, **_NOT_FOUND}
_CACHE_HEADERS = {"Cache-Control": "private, max-age=3600"}
SliceIndex = Annotated[int, Path(ge=0, le=100_000, description="axial slice, 0 = most inferior")]


class VolumeCache:
    """The last few decoded volumes by object key (a few tens of MB each at most)."""

    def __init__(self, entries: int = 8) -> None:
        self.entries = entries
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return value


CACHE = VolumeCache()


def _volume_scan(session: SessionDep, principal: PrincipalDep, scan_id: str) -> Scan:
    scan = _scan_or_404(session, scan_id, principal)
    if scan.kind != "volume":
        raise HTTPException(404, "this scan is a single slice; use /image, /ground-truth and /masks/{model}")
    return scan


def _get(store: ObjectStore, key: str | None, what: str) -> bytes:
    if key is None:
        raise HTTPException(404, f"this scan has no {what}")
    try:
        return store.get(key)
    except ObjectNotFound:
        raise HTTPException(404, f"the {what} is missing from the store") from None


def _canonical(runtime: RuntimeDep, key: str | None, what: str, *, mask: bool, raw: bool = False) -> np.ndarray:
    """The stored volume under ``key`` in canonical orientation: windowed uint8 for display, a boolean mask, or
    (``raw``) its own 0..255 values (the attention map)."""

    def load() -> np.ndarray:
        volume = read_nifti(_get(runtime.store, key, what), VolumeLimits.from_settings(runtime.settings), what)
        if mask:
            return to_canonical(mask_from_volume(volume), volume.affine)
        canonical = to_canonical(volume.data, volume.affine)
        return np.clip(canonical, 0, 255).astype(np.uint8) if raw else display_volume(canonical)

    if key is None:
        raise HTTPException(404, f"this scan has no {what}")
    return CACHE.get(key, load)


def _slice(canonical: np.ndarray, k: int) -> Response:
    if k >= canonical.shape[2]:
        raise HTTPException(404, f"no slice {k}; this volume has {canonical.shape[2]} (0 to {canonical.shape[2] - 1})")
    return Response(slice_png(canonical, k), media_type="image/png", headers=_CACHE_HEADERS)


@router.get("/scans/{scan_id}/masks/{model}.nii.gz", response_class=Response, responses=_NIFTI)
def read_mask_volume(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, model: str
) -> Response:
    """A model's mask as NIfTI (uint8 0/1) with the uploaded volume's shape and affine."""
    result = latest_results(_volume_scan(session, principal, scan_id)).get(_model_or_404(model))
    key = None if result is None else result.mask_key
    data = _get(runtime.store, key, f"{model} mask yet")
    return Response(
        data,
        media_type="application/gzip",
        headers={**_CACHE_HEADERS, "Content-Disposition": f'attachment; filename="{scan_id}_{model}_mask.nii.gz"'},
    )


@router.get("/scans/{scan_id}/masks/{model}.dcm", response_class=Response, responses=_SEG)
def read_mask_seg(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, model: str
) -> Response:
    """A model's mask as a DICOM SEG referencing the source series: for DICOM uploads only."""
    scan = _volume_scan(session, principal, scan_id)
    if (scan.volume or {}).get("source") != "dicom":
        raise HTTPException(404, "this scan was not uploaded as DICOM, so it has no DICOM SEG; use the .nii.gz mask")
    result = latest_results(scan).get(_model_or_404(model))
    data = _get(runtime.store, None if result is None else result.seg_key, f"{model} DICOM SEG yet")
    return Response(
        data,
        media_type="application/dicom",
        headers={**_CACHE_HEADERS, "Content-Disposition": f'attachment; filename="{scan_id}_{model}_seg.dcm"'},
    )


@router.get("/scans/{scan_id}/ground-truth.nii.gz", response_class=Response, responses=_NIFTI)
def read_truth_volume(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId) -> Response:
    """The uploaded ground truth as NIfTI (uint8 0/1) on the volume's grid."""
    data = _get(runtime.store, _volume_scan(session, principal, scan_id).ground_truth_key, "ground truth")
    return Response(data, media_type="application/gzip", headers=_CACHE_HEADERS)


@router.get("/scans/{scan_id}/slices/{k}/image.png", response_class=Response, responses=_PNG)
def read_slice_image(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, k: SliceIndex
) -> Response:
    """Axial slice ``k`` of the image, 8-bit, windowed for the whole volume."""
    scan = _volume_scan(session, principal, scan_id)
    return _slice(_canonical(runtime, scan.image_key, "image", mask=False), k)


@router.get("/scans/{scan_id}/slices/{k}/ground-truth.png", response_class=Response, responses=_PNG)
def read_slice_truth(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, k: SliceIndex
) -> Response:
    """Axial slice ``k`` of the ground truth (0/255)."""
    scan = _volume_scan(session, principal, scan_id)
    return _slice(_canonical(runtime, scan.ground_truth_key, "ground truth", mask=True), k)


@router.get("/scans/{scan_id}/slices/{k}/masks/{model}.png", response_class=Response, responses=_PNG)
def read_slice_mask(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, k: SliceIndex, model: str
) -> Response:
    """Axial slice ``k`` of a model's mask (0/255)."""
    result = latest_results(_volume_scan(session, principal, scan_id)).get(_model_or_404(model))
    key = None if result is None else result.mask_key
    return _slice(_canonical(runtime, key, f"{model} mask yet", mask=True), k)


@router.get("/scans/{scan_id}/slices/{k}/attention.png", response_class=Response, responses=_PNG)
def read_slice_attention(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep, scan_id: ScanId, k: SliceIndex
) -> Response:
    """Axial slice ``k`` of the Attention U-Net's finest attention gate (8-bit, 255 = 1.0)."""
    results = latest_results(_volume_scan(session, principal, scan_id))
    key = next((r.attention_key for r in results.values() if r.attention_key), None)
    return _slice(_canonical(runtime, key, "attention map yet", mask=False, raw=True), k)
