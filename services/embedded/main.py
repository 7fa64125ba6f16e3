"""The embedded app: the gateway's and results API's routers in one FastAPI app, one worker thread per model.

The same routes, relay and job processor as the separate services; only the adapters differ.
"""

from __future__ import annotations

from fastapi import FastAPI

from brainmets.catalog import MODEL_NAMES
from brainmets.config import Settings
from services.core.app import Background, create_app
from services.core.runtime import Runtime, build_runtime
from services.core.telemetry import install_telemetry
from services.gateway.limits import BodySizeLimit
from services.gateway.relay import OutboxRelay
from services.gateway.routes import router as gateway_router
from services.results_api.routes import router as results_router
from services.results_api.volume_routes import router as volume_router
from services.worker.runner import WorkerThread, load_processor


def embedded_settings(settings: Settings) -> Settings:
    """Force the embedded adapters whatever the environment says about servers."""
    return settings.model_copy(update={"DATABASE_URL": None, "AMQP_URL": None, "S3_ENDPOINT": None})


def create_embedded_app(runtime: Runtime, models: tuple[str, ...] = MODEL_NAMES) -> FastAPI:
    """Loads every model first, so a missing artifact fails before the server starts."""
    if runtime.memory_broker is None:
        raise ValueError("the embedded app needs a runtime with an in-process broker")
    background: list[Background] = [OutboxRelay(runtime, MODEL_NAMES)]
    for model in models:
        processor = load_processor(runtime, model)
        processor.register()
        background.append(WorkerThread(processor, runtime.memory_broker.consumer(model)))
    app = create_app(
        runtime,
        [gateway_router, volume_router, results_router],
        title="BrainMets (embedded)",
        background=background,
        serve_web=True,
    )
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_request_bytes)
    install_telemetry(app, outbox=True)
    return app


def build_embedded(settings: Settings) -> tuple[Runtime, FastAPI]:
    runtime = build_runtime(embedded_settings(settings))
    return runtime, create_embedded_app(runtime)
