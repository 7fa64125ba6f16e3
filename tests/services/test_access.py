"""Bearer tokens, ownership and the upload rate limit (issue 7), on the embedded app with auth switched on."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from brainmets.db import AccountRole
from brainmets.db.migrate import upgrade
from services.core.auth import hash_token, issue_token
from services.embedded.main import build_embedded
from tests.services.synthetic import upload_files


@pytest.fixture
def secured(embedded_settings):
    settings = embedded_settings.model_copy(update={"AUTH_ENABLED": True, "UPLOADS_PER_MINUTE": 5})
    upgrade(settings.database_url)
    runtime, app = build_embedded(settings)
    with runtime.sessions.begin() as session:
        tokens = {
            "alice": issue_token(session, "alice", AccountRole.USER.value),
            "bob": issue_token(session, "bob", AccountRole.USER.value),
            "admin": issue_token(session, "root", AccountRole.ADMIN.value),
            "expired": issue_token(session, "old", AccountRole.USER.value, ttl_days=-1),
        }
    with TestClient(app) as client:
        yield client, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_auth_is_off_unless_switched_on(embedded_settings) -> None:
    assert not embedded_settings.auth_required
    assert embedded_settings.model_copy(update={"AUTH_ENABLED": True}).auth_required


def test_without_a_valid_token_every_scan_route_is_401(secured) -> None:
    client, tokens = secured
    for headers in ({}, _auth("not-a-token"), _auth(tokens["expired"])):
        assert client.post("/api/scans", files=upload_files(seed=1), headers=headers).status_code == 401
        response = client.get("/api/scans", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "sign in" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/models").status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def test_an_account_sees_only_its_own_scans_and_an_admin_sees_all(secured) -> None:
    client, tokens = secured
    alice = client.post("/api/scans", files=upload_files(seed=2), headers=_auth(tokens["alice"])).json()["id"]
    bob = client.post("/api/scans", files=upload_files(seed=3), headers=_auth(tokens["bob"])).json()["id"]

    def listed(who: str) -> set[str]:
        return {item["id"] for item in client.get("/api/scans", headers=_auth(tokens[who])).json()["items"]}

    assert listed("alice") == {alice}
    assert listed("bob") == {bob}
    assert listed("admin") == {alice, bob}
    for path in ("", "/image", "/ground-truth", "/events", "/masks/unetpp"):
        assert client.get(f"/api/scans/{alice}{path}", headers=_auth(tokens["bob"])).status_code == 404, path
    assert client.get(f"/api/scans/{alice}", headers=_auth(tokens["alice"])).status_code == 200
    assert client.get(f"/api/scans/{alice}/image", headers=_auth(tokens["admin"])).status_code == 200
    me = client.get("/api/auth/me", headers=_auth(tokens["admin"])).json()
    assert me == {"auth_required": True, "name": "root", "role": "admin"}


def test_signing_in_sets_an_http_only_cookie_that_loads_images(secured) -> None:
    client, tokens = secured
    scan_id = client.post("/api/scans", files=upload_files(seed=4), headers=_auth(tokens["alice"])).json()["id"]
    assert client.post("/api/auth/session", json={"token": "wrong"}).status_code == 401
    response = client.post("/api/auth/session", json={"token": tokens["alice"]})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get(f"/api/scans/{scan_id}/image").status_code == 200  # the cookie, no header
    assert client.delete("/api/auth/session").status_code == 204
    client.cookies.clear()
    assert client.get(f"/api/scans/{scan_id}/image").status_code == 401


def test_uploads_are_rate_limited_per_account(secured) -> None:
    client, tokens = secured
    codes = [
        client.post(
            "/api/scans",
            files=upload_files(seed=s, with_truth=False),
            data={"models": "unetpp"},
            headers=_auth(tokens["bob"]),
        ).status_code
        for s in range(7)
    ]
    assert codes[:5] == [202] * 5
    assert codes[5] == 429
    limited = client.post("/api/scans", files=upload_files(seed=9), headers=_auth(tokens["bob"]))
    assert int(limited.headers["retry-after"]) >= 1
    assert "try again" in limited.json()["detail"]
    # Another account is not affected.
    assert client.post("/api/scans", files=upload_files(seed=8), headers=_auth(tokens["alice"])).status_code == 202


def test_tokens_are_stored_only_as_hashes(secured, embedded_settings) -> None:
    _client, tokens = secured
    files = list(embedded_settings.VAR_DIR.glob("brainmets.db*"))  # the database and its WAL
    assert files
    stored = b"".join(f.read_bytes() for f in files)
    assert hash_token(tokens["alice"]).encode() in stored  # the hash is there...
    assert tokens["alice"].encode() not in stored  # ...the token itself is not
