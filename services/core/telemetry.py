"""The HTTP side of telemetry: request ids, per-route request metrics, upload rejections and ``GET /metrics``.

``/metrics`` needs no token: it holds counts and timings only, with bounded labels. It is for Prometheus on the
internal network; the edge proxy (compose and Kubernetes) answers 404 for it, so it never leaves the cluster.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brainmets import telemetry
from brainmets.db import OutboxMessage
from brainmets.logcontext import log_context, valid_request_id
from services.core.runtime import Runtime

LOGGER = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-ID"
UPLOAD_PATH = "/api/scans"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Requests no route matched (404s, probes for random paths) share one label value.
UNMATCHED = "<unmatched>"
STATIC = "<static>"

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus's text format: everything this process counts (in the embedded mode, workers included)."""
    for refresh in getattr(request.app.state, "metrics_refresh", ()):
        refresh()
    body, content_type = telemetry.exposition()
    return Response(body, media_type=content_type)


def route_label(scope: Scope) -> str:
    """The route's template (``/api/scans/{scan_id}``), never the raw path, so the label set stays bounded."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # The web app's files (a mount, which records its app as the endpoint but no route), whatever the file.
    return STATIC if isinstance(scope.get("endpoint"), StaticFiles) else UNMATCHED


class RequestTelemetry:
    """Pure ASGI middleware, installed outermost: binds a request id (the client's, if plain, else a new one)
    for the request's log lines and returns it in ``X-Request-ID``; counts and times each request by route
    template; counts refused uploads (4xx on ``POST /api/scans``, the body-size limit's 413 included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = sent if valid_request_id(sent) else uuid.uuid4().hex
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            with log_context(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_label(scope)
            telemetry.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            telemetry.HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - start)
            if method == "POST" and scope["path"] == UPLOAD_PATH and 400 <= status < 500:
                telemetry.count_rejection(status)


def outbox_refresher(runtime: Runtime) -> Callable[[], None]:
    """Sets ``brainmets_outbox_pending`` from the database at scrape time (NaN while the database is down)."""

    def refresh() -> None:
        try:
            with runtime.sessions() as session:
                pending = session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                )
            telemetry.OUTBOX_PENDING.set(float(pending or 0))
        except SQLAlchemyError as exc:
            LOGGER.warning("outbox backlog unknown: %s", exc.__class__.__name__)
            telemetry.OUTBOX_PENDING.set(float("nan"))

    return refresh


def install_telemetry(app: FastAPI, *, outbox: bool = False) -> None:
    """Call last in an app factory, after every other middleware, so that it sees every response.

    ``outbox``: this app runs the outbox relay (gateway, embedded), so its scrape reports the backlog.
    """
    app.add_middleware(RequestTelemetry)
    app.state.metrics_refresh = [outbox_refresher(app.state.runtime)] if outbox else []
