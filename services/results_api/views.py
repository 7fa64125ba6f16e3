"""Rows to response bodies, including each scan's overall status."""

from __future__ import annotations

from datetime import UTC, datetime

from brainmets.db import Result, ResultStatus, Scan
from services.core.links import result_links, scan_links, volume_result_links, volume_scan_links
from services.results_api.schemas import Metrics, ResultPublic, ScanPublic, VolumeMetrics

FINAL = (ResultStatus.DONE.value, ResultStatus.FAILED.value)


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time the API shows is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def latest_results(scan: Scan) -> dict[str, Result]:
    """The newest result row per model (a newer model version supersedes an older one)."""
    latest: dict[str, Result] = {}
    for result in scan.results:
        current = latest.get(result.model)
        if current is None or (result.created_at, result.id) > (current.created_at, current.id):
            latest[result.model] = result
    return latest


def result_view(scan: Scan, model: str, result: Result | None) -> ResultPublic:
    if result is None:
        return ResultPublic(status=ResultStatus.QUEUED.value)
    done = result.status == ResultStatus.DONE.value
    return ResultPublic(
        status=result.status,
        error=result.error,
        metrics=_metrics(scan, result.metrics),
        lesion_area_px=result.lesion_area_px,
        inference_ms=result.inference_ms,
        model_version=result.model_version,
        device=result.device,
        attempts=result.attempts,
        updated_at=utc(result.updated_at),
        links=_result_links(scan, model, result) if done else {},
        progress=result.progress,
        lesions=result.lesions,
        detection=result.detection,
    )


def _metrics(scan: Scan, metrics: dict[str, float] | None) -> Metrics | None:
    if not metrics:
        return None
    return VolumeMetrics(**metrics) if scan.kind == "volume" else Metrics(**metrics)


def _result_links(scan: Scan, model: str, result: Result) -> dict[str, str]:
    if scan.kind == "volume":
        return volume_result_links(scan.id, model, result.seg_key is not None, result.attention_key is not None)
    return result_links(scan.id, model, result.attention_key is not None)


def overall_status(statuses: list[str]) -> str:
    """``done`` when every model is done, ``failed`` when all finished and one failed, else in progress."""
    if statuses and all(s == ResultStatus.DONE.value for s in statuses):
        return ResultStatus.DONE.value
    if statuses and all(s in FINAL for s in statuses):
        return ResultStatus.FAILED.value
    if any(s != ResultStatus.QUEUED.value for s in statuses):
        return ResultStatus.RUNNING.value
    return ResultStatus.QUEUED.value


def scan_view(scan: Scan) -> ScanPublic:
    latest = latest_results(scan)
    results = {model: result_view(scan, model, latest.get(model)) for model in scan.models}
    links = scan_links(scan.id)
    if scan.kind == "volume":
        links.update(volume_scan_links(scan.id))
    if scan.ground_truth_key is None:
        for name in ("ground_truth", "ground_truth_volume", "slice_ground_truth"):
            links.pop(name, None)
    volume = scan.volume or {}
    return ScanPublic(
        id=scan.id,
        status=overall_status([r.status for r in results.values()]),
        created_at=utc(scan.created_at),
        filename=scan.filename,
        width=scan.width,
        height=scan.height,
        has_ground_truth=scan.ground_truth_key is not None,
        models=list(scan.models),
        results=results,
        links=links,
        kind=scan.kind or "slice",
        shape=volume.get("shape"),
        spacing_mm=volume.get("spacing_mm"),
        slices=volume.get("slices"),
    )


def is_final(view: ScanPublic) -> bool:
    return view.status in FINAL
