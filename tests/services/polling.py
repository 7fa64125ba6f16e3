"""Waiting for asynchronous results in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

FINAL = ("done", "failed")


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


def wait_final(get_json: Callable[[str], dict[str, Any]], scan_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll ``GET /api/scans/{id}`` until every model's result is final."""

    def final() -> dict[str, Any] | None:
        body = get_json(f"/api/scans/{scan_id}")
        return body if body["status"] in FINAL else None

    return wait_for(final, timeout, what=f"scan {scan_id} to finish")
