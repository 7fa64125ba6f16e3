"""The app factory every mode uses: the gateway's and the results API's routers, health, errors, the web app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from services.core.auth import router as auth_router
from services.core.csrf import SameOriginWrites
from services.core.docs import docs_router
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


class HeadedApp(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's own 500 page included: middleware added
    with ``add_middleware`` sits inside that page's handler and misses it, and misses layers added later (the
    gateway's body-size limit)."""

    def __init__(self, *, enforce_csp: bool, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.enforce_csp = enforce_csp

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), enforce_csp=self.enforce_csp)


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

    settings = runtime.settings
    app = HeadedApp(
        title=title, version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None, enforce_csp=settings.CSP_ENFORCE
    )
    app.state.runtime = runtime
    app.state.upload_limiter = RateLimiter(runtime.sessions, settings.UPLOADS_PER_MINUTE)
    install_error_handlers(app)
    app.add_middleware(SameOriginWrites)
    if settings.api_docs:
        app.include_router(docs_router(title))
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
