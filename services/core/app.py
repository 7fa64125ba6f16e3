"""The app factory every mode uses: the gateway's and the results API's routers, health, errors, the web app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.core.auth import router as auth_router
from services.core.errors import install_error_handlers
from services.core.health import router as health_router
from services.core.ratelimit import RateLimiter
from services.core.runtime import Runtime
from services.core.security import SecurityHeaders
from services.core.telemetry import router as metrics_router

LOGGER = logging.getLogger(__name__)


class Background(Protocol):
    """Something that runs beside the app (the outbox relay, embedded workers)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    runtime: Runtime,
    routers: Sequence[APIRouter],
    *,
    title: str,
    background: Sequence[Background] = (),
    serve_web: bool = False,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for task in background:
            task.start()
        try:
            yield
        finally:
            for task in reversed(background):
                task.stop()
            runtime.close()

    app = FastAPI(title=title, version="1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.upload_limiter = RateLimiter(runtime.sessions, runtime.settings.UPLOADS_PER_MINUTE)
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders, enforce_csp=runtime.settings.CSP_ENFORCE)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(auth_router)
    for router in routers:
        app.include_router(router)
    web_dir = runtime.settings.WEB_DIR
    if serve_web and (web_dir / "index.html").is_file():
        # Mounted last so that /api, /docs and the health checks take precedence.
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
    elif serve_web:
        LOGGER.info("no web app at %s; serving the API only", web_dir)
    return app
