"""Issue 15's findings, each through the app as a browser or client meets it: cross-site writes, revocable
sessions, security headers on every answer, validation errors that echo nothing, docs, and start-up settings."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from brainmets.config import Settings, get_settings
from brainmets.db import AccountRole, WebSession
from brainmets.db.migrate import upgrade
from services import accounts
from services.core.auth import SESSION_COOKIE, hash_token
from services.embedded.main import build_embedded
from tests.services.signin import signed_in_app
from tests.services.synthetic import upload_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def secured(embedded_settings):
    accounts = {"alice": ("alice", AccountRole.USER, None), "admin": ("root", AccountRole.ADMIN, None)}
    with signed_in_app(embedded_settings, accounts) as (client, tokens, runtime):
        yield client, tokens, runtime, runtime.settings


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post("/api/auth/session", json={"token": token})
    assert response.status_code == 200, response.text
    return response.cookies[SESSION_COOKIE]


def _with_cookie(client: TestClient, session_id: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session_id, path="/api")
    return client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- CSRF: a cookie is not enough for a write from another site ------------------------------------------------


def test_a_cross_site_upload_with_the_session_cookie_is_403(secured) -> None:
    client, tokens, _runtime, _settings = secured
    _sign_in(client, tokens["alice"])
    for headers in (CROSS_SITE, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post("/api/scans", files=upload_files(seed=1), headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert "cross-site" in response.json()["detail"]
    assert client.get("/api/scans").json()["total"] == 0  # nothing stored
    assert client.post("/api/scans", files=upload_files(seed=2), headers=SAME_SITE).status_code == 202
    # The web app's own requests on another port (nginx passes the host name only) still pass.
    same_host = {"Origin": "http://testserver:8080"}
    assert client.post("/api/scans", files=upload_files(seed=3), headers=same_host).status_code == 202


def test_sign_out_and_sign_in_from_another_site_are_refused_too(secured) -> None:
    client, tokens, _runtime, _settings = secured
    session_id = _sign_in(client, tokens["alice"])
    assert client.delete("/api/auth/session", headers=CROSS_SITE).status_code == 403
    assert client.post("/api/auth/session", json={"token": tokens["admin"]}, headers=CROSS_SITE).status_code == 403
    assert client.get("/api/auth/me").json()["name"] == "alice"  # still alice's session
    assert _with_cookie(client, session_id).get("/api/scans").status_code == 200


def test_bearer_requests_are_not_affected_by_origin(secured) -> None:
    client, tokens, _runtime, _settings = secured
    client.cookies.clear()
    headers = {**_bearer(tokens["alice"]), **CROSS_SITE}
    assert client.post("/api/scans", files=upload_files(seed=4), headers=headers).status_code == 202


# --- Sessions apart from tokens -----------------------------------------------------------------------------------


def test_the_cookie_is_a_session_id_stored_hashed_not_the_token(secured) -> None:
    client, tokens, runtime, _settings = secured
    session_id = _sign_in(client, tokens["alice"])
    assert session_id != tokens["alice"]
    with runtime.sessions() as session:
        stored = [row[0] for row in session.execute(text("SELECT session_sha256 FROM web_sessions"))]
        expires = session.execute(text("SELECT expires_at FROM web_sessions")).scalar_one()
    assert stored == [hash_token(session_id)]
    expires_at = datetime.fromisoformat(str(expires)).replace(tzinfo=UTC)
    assert timedelta(hours=11) < expires_at - datetime.now(UTC) <= timedelta(hours=12)


def test_sign_out_revokes_the_session_on_the_server(secured) -> None:
    client, tokens, _runtime, _settings = secured
    session_id = _sign_in(client, tokens["alice"])
    assert client.get("/api/scans").status_code == 200
    assert client.delete("/api/auth/session").status_code == 204
    # A copy of the old cookie (another tab, a stolen value) is dead, not only forgotten by this browser.
    response = _with_cookie(client, session_id).get("/api/scans")
    assert response.status_code == 401
    assert "sign in again" in response.json()["detail"]
    client.cookies.clear()
    assert client.get("/api/scans", headers=_bearer(tokens["alice"])).status_code == 200  # the token lives on


def test_an_expired_session_is_refused(secured) -> None:
    client, tokens, runtime, _settings = secured
    session_id = _sign_in(client, tokens["alice"])
    with runtime.sessions.begin() as session:
        session.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert _with_cookie(client, session_id).get("/api/scans").status_code == 401


def test_rotating_an_accounts_token_ends_its_sessions(secured, monkeypatch, capsys) -> None:
    client, tokens, _runtime, settings = secured
    session_id = _sign_in(client, tokens["alice"])
    admin_session = _sign_in(client, tokens["admin"])
    monkeypatch.setenv("VAR_DIR", str(settings.VAR_DIR))
    get_settings.cache_clear()
    try:
        accounts.main(["rotate", "alice"])
    finally:
        get_settings.cache_clear()
    new_token = capsys.readouterr().out.strip()
    assert _with_cookie(client, session_id).get("/api/scans").status_code == 401
    client.cookies.clear()
    assert client.get("/api/scans", headers=_bearer(tokens["alice"])).status_code == 401
    assert client.get("/api/scans", headers=_bearer(new_token)).status_code == 200
    assert _with_cookie(client, admin_session).get("/api/scans").status_code == 200  # other accounts untouched


def test_rotating_the_admin_token_by_migration_ends_admin_sessions(secured) -> None:
    client, _tokens, _runtime, settings = secured
    first, second = "first-admin-token-" + "a" * 20, "second-admin-token-" + "b" * 20
    upgrade(settings.database_url, admin_token=first)
    session_id = _sign_in(client, first)
    assert client.get("/api/scans").status_code == 200
    upgrade(settings.database_url, admin_token=second)
    assert _with_cookie(client, session_id).get("/api/scans").status_code == 401


def test_the_cookie_is_secure_over_https(secured) -> None:
    client, tokens, _runtime, _settings = secured
    plain = client.post("/api/auth/session", json={"token": tokens["alice"]}).headers["set-cookie"].lower()
    assert "secure" not in plain
    client.base_url = client.base_url.copy_with(scheme="https")
    secure = client.post("/api/auth/session", json={"token": tokens["alice"]}).headers["set-cookie"].lower()
    assert "; secure" in secure and "httponly" in secure


# --- Headers on every answer, and errors that echo nothing -----------------------------------------------------


def _assert_security_headers(response) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", response.status_code
    assert response.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")


def test_early_rejections_and_crashes_carry_the_security_headers(embedded_settings) -> None:
    settings = embedded_settings.model_copy(update={"MAX_UPLOAD_BYTES": 1000})
    upgrade(settings.database_url)
    _runtime, app = build_embedded(settings)

    def crash() -> None:
        raise RuntimeError("an unexpected bug")

    app.add_api_route("/api/crash", crash)
    app.router.routes.insert(0, app.router.routes.pop())  # ahead of the web app mounted at /
    with TestClient(app, raise_server_exceptions=False) as client:
        too_big = client.post("/api/scans", files={"image": ("a.png", b"x" * 200_000, "image/png")})
        assert too_big.status_code == 413
        _assert_security_headers(too_big)
        crashed = client.get("/api/crash")
        assert crashed.status_code == 500
        _assert_security_headers(crashed)
        forbidden = client.post("/api/scans", files=upload_files(seed=5), headers=CROSS_SITE)
        assert forbidden.status_code == 403
        _assert_security_headers(forbidden)
        _assert_security_headers(client.get("/api/nothing-here"))


def test_validation_errors_do_not_echo_the_input(secured) -> None:
    client, tokens, _runtime, _settings = secured
    secret = tokens["alice"] + "x" * 300  # over the 200-character limit: a 422
    response = client.post("/api/auth/session", json={"token": secret})
    assert response.status_code == 422
    assert tokens["alice"] not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "token"]
    long_id = "a" * 5000
    response = client.get(f"/api/scans/{long_id}", headers=_bearer(tokens["alice"]))
    assert response.status_code == 422
    assert long_id not in response.text and len(response.text) < 1000


# --- Docs and the OpenAPI document -------------------------------------------------------------------------------


def test_docs_are_off_where_sign_in_is_on_unless_asked_for(secured, embedded_settings) -> None:
    client, _tokens, _runtime, settings = secured
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    assert {"HTTPBearer": []} in schema["paths"]["/api/scans"]["post"]["security"]
    with_docs = settings.model_copy(update={"API_DOCS": True})
    _runtime2, app = build_embedded(with_docs)
    with TestClient(app) as docs_client:
        for path in ("/docs", "/redoc"):
            page = docs_client.get(path)
            assert page.status_code == 200 and "openapi.json" in page.text
            policy = page.headers["content-security-policy"]
            script_src = policy.split("script-src", 1)[1].split(";", 1)[0]
            assert "unsafe-inline" not in script_src and "'self'" not in script_src
            for inline in re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL):  # Swagger UI's start-up
                digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in script_src
            assert "frame-ancestors 'none'" in policy
            assert page.headers["x-frame-options"] == "DENY"


# --- Settings at start-up ----------------------------------------------------------------------------------------


def test_an_s3_url_is_accepted_and_sets_host_port_and_tls() -> None:
    plain = Settings(S3_ENDPOINT="http://minio:9000")
    assert (plain.S3_ENDPOINT, plain.S3_SECURE) == ("minio:9000", False)
    tls = Settings(S3_ENDPOINT="https://s3.eu-west-1.amazonaws.com/")
    assert (tls.S3_ENDPOINT, tls.S3_SECURE) == ("s3.eu-west-1.amazonaws.com", True)
    assert Settings(S3_ENDPOINT="minio:9000").S3_ENDPOINT == "minio:9000"


def test_a_bad_setting_stops_a_service_with_one_sentence_not_a_traceback(tmp_path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{os.path.join(REPO, 'shared')}",
        "VAR_DIR": str(tmp_path),
        "S3_ENDPOINT": "http://127.0.0.1:9000/brainmets",
    }
    for module in ("services.results_api", "services.gateway", "services.worker", "brainmets.db.migrate"):
        done = subprocess.run(
            [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=120, cwd=REPO
        )
        assert done.returncode == 1, (module, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (module, done.stderr[-2000:])
        assert done.stderr.strip().startswith("configuration error: S3_ENDPOINT must be host:port"), done.stderr
