"""The gateway app: the upload route, health checks and the outbox relay."""

from __future__ import annotations

from fastapi import FastAPI

from brainmets.catalog import MODEL_NAMES
from brainmets.config import Settings, get_settings
from services.core.app import create_app
from services.core.runtime import Runtime, build_runtime
from services.core.telemetry import install_telemetry
from services.gateway.limits import BodySizeLimit
from services.gateway.relay import OutboxRelay
from services.gateway.routes import router


def create_gateway_app(runtime: Runtime) -> FastAPI:
    relay = OutboxRelay(runtime, MODEL_NAMES)
    app = create_app(runtime, [router], title="BrainMets upload gateway", background=[relay])
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_request_bytes)
    install_telemetry(app, outbox=True)
    return app


def app_from_settings(settings: Settings | None = None) -> FastAPI:
    return create_gateway_app(build_runtime(settings or get_settings()))
