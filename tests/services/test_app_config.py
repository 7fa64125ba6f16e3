"""``GET /api/config``: the server facts the web app reads instead of copying them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from brainmets.catalog import ATTENTION_MAP_MODELS, DISPLAY_NAMES, MODEL_NAMES
from brainmets.config import Settings
from brainmets.db.migrate import upgrade
from services.embedded.main import build_embedded
from services.gateway.validation import sniff_type
from tests.services.polling import wait_final
from tests.services.synthetic import head_slice, png_bytes, tiff_bytes, upload_files

LIMIT = 300_000


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator[TestClient]:
    settings = embedded_settings.model_copy(update={"MAX_UPLOAD_BYTES": LIMIT, "MODELS": "attention_unet"})
    upgrade(settings.database_url)
    _runtime, app = build_embedded(settings)
    with TestClient(app) as test_client:
        yield test_client


def test_config_names_the_models_in_order_with_their_display_names(client: TestClient) -> None:
    config = client.get("/api/config").json()
    assert [m["name"] for m in config["models"]] == list(MODEL_NAMES)
    assert {m["name"]: m["display_name"] for m in config["models"]} == DISPLAY_NAMES
    assert {m["name"] for m in config["models"] if m["attention_map"]} == ATTENTION_MAP_MODELS
    # The models queued when an upload names none: this server's MODELS setting.
    assert config["upload"]["default_models"] == ["attention_unet"]


def test_config_gives_the_limit_and_the_formats_the_gateway_applies(client: TestClient) -> None:
    upload = client.get("/api/config").json()["upload"]
    assert upload["max_bytes"] == LIMIT
    too_big = client.post("/api/scans", files={"image": ("big.png", b"\x89PNG" + bytes(LIMIT + 70_000), "image/png")})
    assert too_big.status_code == 413
    image, _ = head_slice(64, 0)
    for data in (png_bytes(image), tiff_bytes(image)):
        assert sniff_type(data) in upload["media_types"]
    assert all(ext.startswith(".") for exts in upload["media_types"].values() for ext in exts)


def test_every_url_template_answers_for_a_real_scan(client: TestClient) -> None:
    accepted = client.post("/api/scans", files=upload_files(seed=3), data={"models": ",".join(MODEL_NAMES)}).json()
    scan = wait_final(lambda path: client.get(path).json(), accepted["id"])
    assert scan["status"] == "done"
    urls = client.get("/api/config").json()["urls"]
    assert client.get(urls["scans"]).json()["total"] == 1
    for key, template in urls.items():
        if key in ("scans", "events", "session"):
            continue
        for model in MODEL_NAMES if "{model}" in template else [None]:
            url = template.replace("{id}", scan["id"]).replace("{model}", model or "")
            response = client.get(url)
            assert response.status_code == 200, f"{key}: {url} answered {response.status_code}"
            # The scan's own links are these templates filled in.
            links = scan["links"] if model is None else scan["results"][model]["links"]
            assert links.get(key, url) == url
