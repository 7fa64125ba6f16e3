"""Error responses: an unavailable dependency is a 503 with a message, never a stack trace or a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from brainmets.messaging import PublishError
from brainmets.storage import StorageError

LOGGER = logging.getLogger(__name__)


def unavailable(what: str) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"the {what} is unavailable; try again in a moment"},
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad value ("input"): a token sent to sign-in, or 5,000 characters.
        errors = [{k: v for k, v in error.items() if k not in ("input", "url")} for error in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    @app.exception_handler(DBAPIError)
    async def _database(_request: Request, exc: DBAPIError) -> JSONResponse:
        LOGGER.warning("database error: %s", exc.__class__.__name__)
        return unavailable("database")

    @app.exception_handler(PoolTimeoutError)
    async def _pool(_request: Request, exc: PoolTimeoutError) -> JSONResponse:
        LOGGER.warning("database pool exhausted")
        return unavailable("database")

    @app.exception_handler(StorageError)
    async def _store(_request: Request, exc: StorageError) -> JSONResponse:
        LOGGER.warning("object store error: %s", exc)
        return unavailable("object store")

    @app.exception_handler(PublishError)
    async def _broker(_request: Request, exc: PublishError) -> JSONResponse:
        LOGGER.warning("broker error: %s", exc)
        return unavailable("message broker")
