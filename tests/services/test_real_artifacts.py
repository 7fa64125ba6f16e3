"""The committed, trained models served end to end (skipped until training/artifacts holds both)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from brainmets.config import Settings
from brainmets.db.migrate import upgrade
from brainmets.inference import find_artifacts
from brainmets.networks import MODEL_NAMES
from services.embedded.main import build_embedded
from tests.services.polling import wait_final
from tests.services.synthetic import upload_files

FOUND = find_artifacts()
pytestmark = pytest.mark.skipif(
    not all(m in FOUND for m in MODEL_NAMES),
    reason=f"trained artifacts not committed yet under training/artifacts (found: {sorted(FOUND) or 'none'})",
)


def test_trained_models_segment_an_upload_in_the_embedded_app(tmp_path) -> None:
    settings = Settings(VAR_DIR=tmp_path / "var", WEB_DIR=tmp_path)
    upgrade(settings.database_url)
    _runtime, app = build_embedded(settings)
    with TestClient(app) as client:
        scan_id = client.post("/api/scans", files=upload_files(seed=1, size=256)).json()["id"]
        scan = wait_final(lambda path: client.get(path).json(), scan_id, timeout=120)
        models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert scan["status"] == "done"
    for name in MODEL_NAMES:
        result = scan["results"][name]
        assert result["model_version"] == models[name]["version"]
        assert result["inference_ms"] > 0
        assert set(result["metrics"]) == {"dice", "iou", "precision", "recall", "f1"}
    assert "attention" in scan["results"]["attention_unet"]["links"]
