"""The embedded app with sign-in on, and accounts made for a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from brainmets.config import Settings
from brainmets.db import AccountRole
from brainmets.db.migrate import upgrade
from services.core.auth import issue_token
from services.core.runtime import Runtime
from services.embedded.main import build_embedded

# Accounts a signed-in app starts with: key -> (account name, role, token lifetime in days; None: the default).
Accounts = dict[str, tuple[str, AccountRole, float | None]]


@contextmanager
def signed_in_app(settings: Settings, accounts: Accounts) -> Iterator[tuple[TestClient, dict[str, str], Runtime]]:
    """The embedded app with sign-in on and the given accounts; yields the client, their tokens and the runtime."""
    settings = settings.model_copy(update={"AUTH_ENABLED": True})
    upgrade(settings.database_url)
    runtime, app = build_embedded(settings)
    with runtime.sessions.begin() as session:
        tokens = {key: issue_token(session, name, role.value, ttl) for key, (name, role, ttl) in accounts.items()}
    with TestClient(app) as client:
        yield client, tokens, runtime
