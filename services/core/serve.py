"""Run an app with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from brainmets.config import Settings


def uvicorn_config(app: FastAPI, settings: Settings, port: int | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.HOST,
        port=port or settings.PORT,
        log_level=settings.LOG_LEVEL.lower(),
        # uvicorn's own lines go through the root logger, so they are JSON like the rest.
        log_config=None,
        timeout_graceful_shutdown=10,
        # Trust X-Forwarded-For/-Proto only from these (the edge proxy): https at a TLS terminator in front then
        # reaches the app as https, and the session cookie is marked Secure.
        proxy_headers=True,
        forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
    )


def serve(app: FastAPI, settings: Settings, port: int | None = None) -> None:
    uvicorn.Server(uvicorn_config(app, settings, port)).run()
