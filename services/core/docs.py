"""The interactive API docs, when ``API_DOCS`` allows them, each page under its own Content Security Policy.

FastAPI's pages load Swagger UI and ReDoc from a CDN and start them with an inline script. The policy allows
that CDN and exactly that script (by its SHA-256), nothing else: no other inline script, no framing, no forms.
Where sign-in is on they are off by default, so a deployment's own origin runs no third-party script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_policy(html: str) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {CDN} {hashes}; worker-src blob:; "
        # ReDoc's CSS-in-JS writes <style> elements; styles cannot run code.
        f"style-src {CDN} https://fonts.googleapis.com 'unsafe-inline'; font-src https://fonts.gstatic.com; "
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": page_policy(html)})


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        return _with_policy(get_swagger_ui_html(openapi_url=openapi_url, title=f"{title} - docs"))

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        return _with_policy(get_redoc_html(openapi_url=openapi_url, title=f"{title} - ReDoc"))

    return router
