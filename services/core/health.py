"""``/healthz`` (the process answers) and ``/readyz`` (database, broker and object store answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from brainmets.db import ping as ping_database
from services.core.deps import get_runtime
from services.core.runtime import Runtime

LOGGER = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(runtime: Annotated[Runtime, Depends(get_runtime)], response: Response) -> Health:
    """Readiness: the database, the broker and the object store all answer."""
    checks = {
        "database": _check(lambda: ping_database(runtime.engine)),
        "broker": _check(runtime.ping_broker),
        "store": _check(runtime.store.ping),
    }
    ok = all(value == "ok" for value in checks.values())
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if ok else "unavailable", checks=checks)


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:
        # Say which part is down, not where it lives: no addresses in responses.
        LOGGER.warning("readiness check failed: %r", exc)
        return "unavailable"
