"""The results API app: routes, health checks and the static web app at ``/``."""

from __future__ import annotations

from fastapi import FastAPI

from brainmets.config import Settings, get_settings
from services.core.app import create_app
from services.core.runtime import Runtime, build_runtime
from services.core.telemetry import install_telemetry
from services.results_api.routes import router
from services.results_api.volume_routes import router as volume_router


def create_results_app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime, [volume_router, router], title="BrainMets results API", serve_web=True)
    install_telemetry(app)
    return app


def app_from_settings(settings: Settings | None = None) -> FastAPI:
    return create_results_app(build_runtime(settings or get_settings()))
