"""Refuse state-changing requests that a browser sent from another site, unless they carry a bearer token.

The session cookie is SameSite=Strict, but that is one browser rule; a multipart POST needs no CORS preflight, so
a browser quirk or an old browser would let another site upload with the victim's cookie. Browsers label every
request: ``Sec-Fetch-Site`` (computed exactly, port included) and ``Origin``. A request naming another site in
either is a 403. A request with an ``Authorization`` header is not a browser's ambient credential (another site
cannot add that header without a CORS preflight, which this server never grants), so it passes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark


class SameOriginWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        reason = None if "authorization" in headers else cross_site_reason(headers)
        if reason is None:
            await self.app(scope, receive, send)
            return
        detail = f"refused a cross-site request ({reason}); use the app's own pages"
        await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)


def cross_site_reason(headers: dict[str, str]) -> str | None:
    """Why the request came from another site, or ``None`` when nothing says it did."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_SITE_FETCHES:
        return f"Sec-Fetch-Site: {fetch_site[:32]}"
    origin = headers.get("origin")
    if origin is not None:
        own = _hostname("//" + headers.get("host", ""))
        if own is None or _hostname(origin) != own:  # "null" (a sandboxed or file: page) has no host name
            return "its Origin is not this server"
    return None


def _hostname(url: str) -> str | None:
    """The host name alone: proxies in front rewrite the port (nginx's $host) and the scheme (TLS termination)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
