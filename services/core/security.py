"""Security headers on every response, with a Content Security Policy the web app passes.

No CORS middleware is installed: cross-origin browser calls are refused by default.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Same-origin everything; images may be drawn from blob:/data: URLs onto canvases. No 'unsafe-inline' anywhere:
# the web app sets styles through the CSSOM, which the policy does not restrict.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
CSP_HEADERS = (b"content-security-policy", b"content-security-policy-report-only")


class SecurityHeaders:
    """Adds the headers; ``enforce_csp=False`` sends the policy as Report-Only (browsers log, not block).

    A response that sets its own policy (the API docs pages, ``services.core.docs``) keeps it. ``create_app`` puts
    this outside every other layer, error pages and early rejections (413, 403) included.
    """

    def __init__(self, app: ASGIApp, enforce_csp: bool = True) -> None:
        self.app = app
        self.csp_header = b"content-security-policy" if enforce_csp else b"content-security-policy-report-only"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*HEADERS, (self.csp_header, CONTENT_SECURITY_POLICY.encode())]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                own_policy = not present.isdisjoint(CSP_HEADERS)
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in extra if h[0] not in present and not (own_policy and h[0] in CSP_HEADERS)
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
