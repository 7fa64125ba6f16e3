"""Rows to response bodies, including each scan's overall status."""

from __future__ import annotations

from datetime import UTC, datetime

from brainmets.db import Result, ResultStatus, Scan
from services.core.links import result_links, scan_links
from services.results_api.schemas import Metrics, ResultPublic, ScanPublic

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
        metrics=Metrics(**result.metrics) if result.metrics else None,
        lesion_area_px=result.lesion_area_px,
        inference_ms=result.inference_ms,
        model_version=result.model_version,
        device=result.device,
        attempts=result.attempts,
        updated_at=utc(result.updated_at),
        links=result_links(scan.id, model, result.attention_key is not None) if done else {},
    )


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
    if scan.ground_truth_key is None:
        links.pop("ground_truth")
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
    )


def is_final(view: ScanPublic) -> bool:
    return view.status in FINAL
