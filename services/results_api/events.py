"""Server-Sent Events for one scan, by polling the database (works the same in every mode)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from brainmets.db.scans import get_scan
from services.core.runtime import Runtime
from services.results_api.views import is_final, scan_view

KEEPALIVE_S = 15.0
MAX_STREAM_S = 600.0  # the browser's EventSource reconnects by itself after this


def _snapshot(runtime: Runtime, scan_id: str) -> tuple[str, bool] | None:
    with runtime.sessions() as session:
        scan = get_scan(session, scan_id)
        if scan is None:
            return None
        view = scan_view(scan)
        return view.model_dump_json(), is_final(view)


async def scan_events(request: Request, runtime: Runtime, scan_id: str) -> AsyncIterator[str]:
    last: str | None = None
    started = last_sent = time.monotonic()
    yield "retry: 2000\n\n"
    while time.monotonic() - started < MAX_STREAM_S:
        if await request.is_disconnected():
            return
        try:
            snapshot = await run_in_threadpool(_snapshot, runtime, scan_id)
        except Exception:
            # A database hiccup should not kill the stream; say so and keep polling.
            yield "event: unavailable\ndata: {}\n\n"
            snapshot = None
            await asyncio.sleep(1.0)
            continue
        if snapshot is None:
            return
        data, final = snapshot
        if data != last:
            last, last_sent = data, time.monotonic()
            yield f"event: scan\ndata: {data}\n\n"
            if final:
                return
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(runtime.settings.EVENTS_POLL_S)
