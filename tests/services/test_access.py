"""Bearer tokens, ownership and the upload rate limit (issue 7), on the embedded app with auth switched on."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text

from brainmets.config import Settings
from brainmets.db import AccountRole, make_engine, make_sessionmaker
from brainmets.db.migrate import upgrade
from services.core.auth import hash_token, issue_token
from services.embedded import main as embedded_main
from services.results_api.main import app_from_settings
from tests.services.signin import signed_in_app
from tests.services.synthetic import upload_files


@pytest.fixture
def secured(embedded_settings):
    accounts = {
        "alice": ("alice", AccountRole.USER, None),
        "bob": ("bob", AccountRole.USER, None),
        "admin": ("root", AccountRole.ADMIN, None),
        "expired": ("old", AccountRole.USER, -1),
    }
    settings = embedded_settings.model_copy(update={"UPLOADS_PER_MINUTE": 5})
    with signed_in_app(settings, accounts) as (client, tokens, _runtime):
        yield client, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_is_on_against_servers_and_off_in_the_embedded_mode_unless_set(embedded_settings) -> None:
    unset = embedded_settings.model_copy(update={"AUTH_ENABLED": None})
    assert not unset.auth_required  # no server configured: the development mode
    for server in (
        {"DATABASE_URL": "postgresql+psycopg2://db/x"},
        {"AMQP_URL": "amqp://mq"},
        {"S3_ENDPOINT": "s3:9000"},
    ):
        against = unset.model_copy(update=server)
        assert against.auth_required, server
        assert not against.model_copy(update={"AUTH_ENABLED": False}).auth_required  # explicit wins
        assert not embedded_main.embedded_settings(against).auth_required  # make run ignores the servers
    assert embedded_main.embedded_settings(unset.model_copy(update={"AUTH_ENABLED": True})).auth_required


def _results_client(settings) -> TestClient:
    """The results API against a database named by URL (as the deployments run it), on SQLite here."""
    url = f"sqlite:///{(settings.VAR_DIR / 'brainmets.db').resolve()}"
    return TestClient(app_from_settings(settings.model_copy(update={"AUTH_ENABLED": None, "DATABASE_URL": url})))


def test_the_results_api_against_a_database_url_requires_a_token_by_default(embedded_settings) -> None:
    upgrade(embedded_settings.database_url)
    with _results_client(embedded_settings) as client:
        response = client.get("/api/scans")
        assert response.status_code == 401
        assert "sign in" in response.json()["detail"]
        assert client.get("/api/models").status_code == 200


def test_admin_token_is_seeded_by_every_migration_and_rotates(embedded_settings) -> None:
    url = embedded_settings.database_url
    first, second = "first-admin-token-" + "a" * 20, "second-admin-token-" + "b" * 20
    upgrade(url, admin_token=first)
    upgrade(url, admin_token=first)  # idempotent: services and the migrate job all run it
    with _results_client(embedded_settings) as client:
        me = client.get("/api/auth/me", headers=_auth(first))
        assert me.json() == {"auth_required": True, "name": "admin", "role": "admin"}
        assert client.get("/api/scans", headers=_auth(first)).status_code == 200
        upgrade(url, admin_token=second)  # a changed secret retires the old token
        assert client.get("/api/scans", headers=_auth(first)).status_code == 401
        assert client.get("/api/scans", headers=_auth(second)).status_code == 200
    with make_sessionmaker(make_engine(url))() as session:
        assert session.execute(text("SELECT count(*) FROM accounts WHERE name = 'admin'")).scalar() == 1
        stored = {row[0] for row in session.execute(text("SELECT token_sha256 FROM api_tokens"))}
    assert stored == {hash_token(first), hash_token(second)}  # hashes only


def test_admin_token_may_not_be_another_accounts_token(embedded_settings) -> None:
    upgrade(embedded_settings.database_url)
    with make_sessionmaker(make_engine(embedded_settings.database_url)).begin() as session:
        token = issue_token(session, "carol", AccountRole.USER.value)
    with pytest.raises(ValueError, match="another account"):
        upgrade(embedded_settings.database_url, admin_token=token)


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


def test_a_short_admin_token_is_refused_without_echoing_it(monkeypatch) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", "guessable-secret")
    with pytest.raises(ValidationError, match="at least 24 characters") as refused:
        Settings()
    assert "guessable-secret" not in str(refused.value)
