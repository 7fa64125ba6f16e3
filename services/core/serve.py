"""Run an app with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from brainmets.config import Settings


def serve(app: FastAPI, settings: Settings, port: int | None = None) -> None:
    uvicorn.run(
        app,
        host=settings.HOST,
        port=port or settings.PORT,
        log_level=settings.LOG_LEVEL.lower(),
        # uvicorn's own lines go through the root logger, so they are JSON like the rest.
        log_config=None,
        timeout_graceful_shutdown=10,
    )
