"""Bearer tokens and scan ownership.

Against servers (``DATABASE_URL``, ``AMQP_URL`` or ``S3_ENDPOINT`` set), or with ``AUTH_ENABLED=true``, every scan
route needs a token, sent as
``Authorization: Bearer <token>``; the browser (images, Server-Sent Events) instead exchanges its token at
``POST /api/auth/session`` for a session: a random id in an HttpOnly cookie, stored hashed, that expires, is revoked
on sign-out, and ends when the token it was opened with is revoked or rotated. A user sees only their own scans;
an admin sees all. Someone else's scan is a 404, so ids do not leak.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from brainmets.db import Account, Scan
from brainmets.db.accounts import account_for_token, add_token, create_account, live_token, token_digest
from brainmets.db.web_sessions import account_for_session, close_session, open_session
from services.core.deps import get_runtime
from services.core.runtime import Runtime

SESSION_COOKIE = "brainmets_session"
SESSION_TTL_S = 12 * 3600


def hash_token(token: str) -> str:
    return token_digest(token)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(session: Session, name: str, role: str, ttl_days: float | None = None) -> str:
    """Create an account and its first token; the token is returned once and only its hash is kept."""
    account = create_account(session, name, role)
    token = new_token()
    add_token(session, account, hash_token(token), token_expiry(ttl_days))
    return token


def token_expiry(ttl_days: float | None) -> datetime | None:
    return None if ttl_days is None else datetime.now(UTC) + timedelta(days=ttl_days)


@dataclass(frozen=True)
class Principal:
    account_id: int
    name: str
    is_admin: bool


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _principal(account: Account | None) -> Principal | None:
    return None if account is None else Principal(account.id, account.name, account.is_admin)


def _lookup(runtime: Runtime, token: str) -> Principal | None:
    with runtime.sessions() as session:
        return _principal(account_for_token(session, hash_token(token)))


def _lookup_session(runtime: Runtime, session_id: str) -> Principal | None:
    with runtime.sessions() as session:
        return _principal(account_for_session(session, hash_token(session_id)))


# Declared in the OpenAPI document, so that clients (and /docs) know how to authenticate; checked below.
BEARER = HTTPBearer(
    auto_error=False,
    description="an account's token: `python -m services.accounts create NAME`, or ADMIN_TOKEN for `admin`",
)


def current_principal(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal | None:
    """The caller, or ``None`` when auth is off (everyone sees everything, as in the embedded mode)."""
    if not runtime.settings.auth_required:
        return None
    if bearer is not None:
        principal = _lookup(runtime, bearer.credentials[:200])
    elif session_id := request.cookies.get(SESSION_COOKIE, ""):
        principal = _lookup_session(runtime, session_id[:200])
    else:
        raise _unauthorized("sign in first: send Authorization: Bearer <token>")
    if principal is None:
        raise _unauthorized("the token or session is not valid (unknown, revoked or expired); sign in again")
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
    """Exchange a token for a session cookie (HttpOnly), so that images and event streams load in the browser."""
    session_id = secrets.token_urlsafe(32)
    with runtime.sessions.begin() as session:
        token = live_token(session, hash_token(body.token))
        if token is None:
            raise _unauthorized("the token is not valid (unknown, revoked or expired)")
        open_session(session, token, hash_token(session_id), datetime.now(UTC) + timedelta(seconds=SESSION_TTL_S))
        principal = Principal(token.account.id, token.account.name, token.account.is_admin)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        # https as the client sees it: behind a proxy, uvicorn takes it from X-Forwarded-Proto when the proxy's
        # address is in FORWARDED_ALLOW_IPS.
        secure=request.url.scheme == "https",
        path="/api",
    )
    return Me(auth_required=True, name=principal.name, role="admin" if principal.is_admin else "user")


@router.delete("/session", status_code=204)
def sign_out(request: Request, response: Response, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """End the browser session: the cookie's id is revoked on the server, not only forgotten by the browser."""
    if session_id := request.cookies.get(SESSION_COOKIE, ""):
        with runtime.sessions.begin() as session:
            close_session(session, hash_token(session_id[:200]))
    response.delete_cookie(SESSION_COOKIE, path="/api")
    response.status_code = 204
    return response
