"""Bearer tokens and scan ownership.

Against servers (``DATABASE_URL``, ``AMQP_URL`` or ``S3_ENDPOINT`` set), or with ``AUTH_ENABLED=true``, every scan
route needs a token, sent as
``Authorization: Bearer <token>`` or, for the browser (images, Server-Sent Events), as the HttpOnly cookie that
``POST /api/auth/session`` sets. A user sees only their own scans; an admin sees all. Someone else's scan is a
404, so ids do not leak.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from brainmets.db import Scan
from brainmets.db.accounts import account_for_token, add_token, create_account, token_digest
from services.core.deps import get_runtime
from services.core.runtime import Runtime

TOKEN_COOKIE = "brainmets_token"
COOKIE_MAX_AGE_S = 12 * 3600


def hash_token(token: str) -> str:
    return token_digest(token)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(session: Session, name: str, role: str, ttl_days: float | None = None) -> str:
    """Create an account and its first token; the token is returned once and only its hash is kept."""
    account = create_account(session, name, role)
    token = new_token()
    expires = None if ttl_days is None else datetime.now(UTC) + timedelta(days=ttl_days)
    add_token(session, account, hash_token(token), expires)
    return token


@dataclass(frozen=True)
class Principal:
    account_id: int
    name: str
    is_admin: bool


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _lookup(runtime: Runtime, token: str) -> Principal | None:
    with runtime.sessions() as session:
        account = account_for_token(session, hash_token(token))
        return None if account is None else Principal(account.id, account.name, account.is_admin)


def current_principal(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Principal | None:
    """The caller, or ``None`` when auth is off (everyone sees everything, as in the embedded mode)."""
    if not runtime.settings.auth_required:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else request.cookies.get(TOKEN_COOKIE, "")
    if not token:
        raise _unauthorized("sign in first: send Authorization: Bearer <token>")
    principal = _lookup(runtime, token[:200])
    if principal is None:
        raise _unauthorized("the token is not valid (unknown, revoked or expired); sign in again")
    return principal


PrincipalDep = Annotated[Principal | None, Depends(current_principal)]


def can_see(principal: Principal | None, scan: Scan) -> bool:
    return principal is None or principal.is_admin or scan.owner_id == principal.account_id


def owner_filter(principal: Principal | None) -> int | None:
    """The owner to filter listings by; ``None`` means all scans."""
    return None if principal is None or principal.is_admin else principal.account_id


class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    auth_required: bool
    name: str | None = None
    role: str | None = None


router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.get("/me", response_model=Me)
def read_me(principal: PrincipalDep, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Me:
    """Who the caller is (and whether the server requires sign-in at all)."""
    if principal is None:
        return Me(auth_required=runtime.settings.auth_required)
    return Me(auth_required=True, name=principal.name, role="admin" if principal.is_admin else "user")


@router.post("/session", response_model=Me, responses={401: {"description": "invalid token"}})
def sign_in(
    body: SignIn, request: Request, response: Response, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Me:
    """Exchange a token for an HttpOnly cookie, so that images and event streams load in the browser."""
    principal = _lookup(runtime, body.token)
    if principal is None:
        raise _unauthorized("the token is not valid (unknown, revoked or expired)")
    response.set_cookie(
        TOKEN_COOKIE,
        body.token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/api",
    )
    return Me(auth_required=True, name=principal.name, role="admin" if principal.is_admin else "user")


@router.delete("/session", status_code=204)
def sign_out(response: Response) -> Response:
    response.delete_cookie(TOKEN_COOKIE, path="/api")
    response.status_code = 204
    return response
