"""The web app's unit-test fixtures are what the server sends: its config, and a card in the server's schema.

The JavaScript tests read ``unit/fixtures/*.json``; if the server's answers change, these tests say so, and the
fixture (and the JavaScript that reads it) must follow.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from brainmets.catalog import Evaluation
from brainmets.config import Settings
from services.results_api.main import app_from_settings
from services.results_api.schemas import ModelPublic

FIXTURES = Path(__file__).parent / "unit" / "fixtures"


def test_the_config_fixture_is_what_the_server_answers(tmp_path: Path) -> None:
    app = app_from_settings(Settings(VAR_DIR=tmp_path))
    with TestClient(app) as client:
        served = client.get("/api/config").json()
    assert json.loads((FIXTURES / "config.json").read_text()) == served


def test_the_card_fixture_has_only_the_fields_the_server_declares() -> None:
    card = json.loads((FIXTURES / "model-card.json").read_text())
    served = ModelPublic.model_validate(card).model_dump(mode="json", by_alias=True)
    assert set(card) <= set(ModelPublic.model_fields), "a field the server's ModelPublic does not declare"
    evaluation_fields = {field.alias or name for name, field in Evaluation.model_fields.items()}
    for block in ("test_metrics", "validation_metrics"):
        assert set(card[block]) <= evaluation_fields, f"{block}: a field catalog.Evaluation does not declare"
        assert {k: served[block][k] for k in card[block]} == card[block]
