"""The gateway and results API over HTTP in the embedded mode (SQLite, local store, in-process queue)."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brainmets.db import OutboxMessage, Scan
from brainmets.db.migrate import upgrade
from services.embedded.main import build_embedded
from services.gateway.relay import OutboxRelay
from services.results_api.schemas import ModelPublic
from services.worker.runner import MissingArtifactError
from tests.services.polling import wait_final
from tests.services.synthetic import head_slice, mask_bytes, png_bytes, tiff_bytes, upload_files


def _json(client: TestClient):
    return lambda path: client.get(path).json()


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_upload_with_ground_truth_gives_both_results_with_metrics(embedded) -> None:
    _runtime, _app, client = embedded
    response = client.post("/api/scans", files=upload_files(seed=1))
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["links"]["self"] == f"/api/scans/{accepted['id']}"

    scan = wait_final(_json(client), accepted["id"])

    assert scan["status"] == "done"
    assert scan["created_at"].endswith(("Z", "+00:00"))  # UTC, also on SQLite
    assert scan["has_ground_truth"] is True
    assert (scan["width"], scan["height"]) == (64, 64)
    assert set(scan["results"]) == {"unetpp", "attention_unet"}
    for model, result in scan["results"].items():
        assert result["status"] == "done"
        assert result["model_version"] == "test-1"
        assert result["device"] == "cpu"
        assert result["inference_ms"] > 0
        assert set(result["metrics"]) == {"dice", "iou", "precision", "recall", "f1"}
        assert all(0.0 <= v <= 1.0 for v in result["metrics"].values())
        mask = _png(client.get(result["links"]["mask"]))
        assert mask.shape == (64, 64)
        assert set(np.unique(mask)) <= {0, 255}
        assert result["lesion_area_px"] == int(np.count_nonzero(mask))
        assert _png(client.get(result["links"]["probability"])).dtype == np.uint8
        assert ("attention" in result["links"]) == (model == "attention_unet")
    attention = _png(client.get(f"/api/scans/{scan['id']}/attention"))
    assert attention.shape == (64, 64)
    truth = _png(client.get(scan["links"]["ground_truth"]))
    assert set(np.unique(truth)) == {0, 255}


def test_upload_without_ground_truth_has_no_metrics(embedded) -> None:
    _runtime, _app, client = embedded
    accepted = client.post("/api/scans", files=upload_files(seed=2, with_truth=False)).json()
    scan = wait_final(_json(client), accepted["id"])
    assert scan["has_ground_truth"] is False
    assert "ground_truth" not in scan["links"]
    assert all(r["metrics"] is None for r in scan["results"].values())
    assert client.get(f"/api/scans/{scan['id']}/ground-truth").status_code == 404


def test_model_subset_runs_only_that_model(embedded) -> None:
    _runtime, _app, client = embedded
    accepted = client.post("/api/scans", files=upload_files(seed=3), data={"models": "unetpp"}).json()
    assert accepted["models"] == ["unetpp"]
    scan = wait_final(_json(client), accepted["id"])
    assert list(scan["results"]) == ["unetpp"]
    assert client.get(f"/api/scans/{scan['id']}/attention").status_code == 404


def test_sixteen_bit_tiff_is_accepted_and_displayed_at_eight_bits(embedded) -> None:
    _runtime, _app, client = embedded
    image, _ = head_slice(48, seed=4, bits=16)
    files = {"image": ("slice.tif", tiff_bytes(image), "application/octet-stream")}
    accepted = client.post("/api/scans", files=files).json()
    display = _png(client.get(f"/api/scans/{accepted['id']}/image"))
    assert display.dtype == np.uint8
    assert display.shape == (48, 48)
    assert display.max() == 255 and display.min() == 0
    assert wait_final(_json(client), accepted["id"])["status"] == "done"


def test_three_channel_tiff_takes_the_flair_channel(embedded) -> None:
    _runtime, _app, client = embedded
    flair, _ = head_slice(32, seed=5)
    stack = np.stack([np.zeros_like(flair), flair, np.full_like(flair, 7)], axis=-1)
    accepted = client.post("/api/scans", files={"image": ("x.tif", tiff_bytes(stack), "image/tiff")}).json()
    display = _png(client.get(f"/api/scans/{accepted['id']}/image"))
    expected = np.rint((flair - flair.min()) * (255.0 / (flair.max() - flair.min())))
    np.testing.assert_array_equal(display, expected.astype(np.uint8))


def test_scans_are_listed_newest_first_with_pagination(embedded) -> None:
    _runtime, _app, client = embedded
    ids = [client.post("/api/scans", files=upload_files(seed=s, with_truth=False)).json()["id"] for s in range(3)]
    page = client.get("/api/scans", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = client.get("/api/scans", params={"limit": 2, "offset": 2}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]
    assert client.get("/api/scans", params={"limit": 0}).status_code == 422


@pytest.mark.parametrize(
    "path", ["/api/scans/not-an-id", "/api/scans/" + "0" * 32, "/api/scans/..%5C..%5Cetc", "/api/scans/" + "a" * 64]
)
def test_unknown_or_malformed_scan_ids_are_404(embedded, path: str) -> None:
    _runtime, _app, client = embedded
    response = client.get(path)
    assert response.status_code == 404
    assert "no scan" in response.json()["detail"]


def test_unknown_model_mask_is_404(embedded) -> None:
    _runtime, _app, client = embedded
    scan_id = client.post("/api/scans", files=upload_files(seed=6)).json()["id"]
    response = client.get(f"/api/scans/{scan_id}/masks/resnet")
    assert response.status_code == 404
    assert "unetpp" in response.json()["detail"]


def test_events_stream_ends_with_the_final_scan(embedded) -> None:
    _runtime, _app, client = embedded
    scan_id = client.post("/api/scans", files=upload_files(seed=7)).json()["id"]
    with client.stream("GET", f"/api/scans/{scan_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        body = stream.read().decode()
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert events, body
    assert events[-1]["status"] == "done"
    assert all(e["id"] == scan_id for e in events)


def test_models_describe_each_model_from_its_card(embedded) -> None:
    _runtime, _app, client = embedded
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert set(models) == {"unetpp", "attention_unet"}
    assert models["unetpp"]["display_name"] == "U-Net++"
    assert models["attention_unet"]["version"] == "test-1"
    assert models["unetpp"]["parameters"] > 0
    assert models["unetpp"]["test_metrics"]["global"]["dice"] == 0.5
    # The web app reads what each model was trained on; the test cards keep the training script's defaults.
    assert models["unetpp"]["trained_on"]["sequence"] == "FLAIR"
    assert models["unetpp"]["trained_on"]["plane"] == "axial"


def test_model_cards_from_before_training_data_still_validate() -> None:
    old = {"name": "unetpp", "display_name": "U-Net++", "version": "old-1", "parameters": 1, "input_size": [64, 64]}
    public = ModelPublic.model_validate(old).model_dump(mode="json")
    assert public["trained_on"]["sequence"] == "FLAIR"
    assert public["trained_on"]["institutions"] == []


def test_health_ready_docs_and_web_app(embedded) -> None:
    _runtime, _app, client = embedded
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "store": "ok"}}
    assert client.get("/docs").status_code == 200
    assert "/api/scans" in client.get("/openapi.json").json()["paths"]
    assert "BrainMets" in client.get("/").text


def _stored_state(runtime) -> tuple[int, list[str]]:
    with runtime.sessions() as session:
        scans = session.query(Scan).count()
    root = runtime.settings.objects_dir
    objects = [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return scans, objects


def test_rejected_uploads_store_nothing(embedded) -> None:
    runtime, _app, client = embedded
    image, mask = head_slice(64, seed=8)
    wrong_size = mask_bytes(np.zeros((32, 32), bool))
    cases = [
        ({"image": ("a.png", b"", "image/png")}, {}, 422),
        ({"image": ("a.png", b"hello, I am text", "image/png")}, {}, 415),
        ({"image": ("a.png", png_bytes(image)[:200], "image/png")}, {}, 422),
        ({"image": ("a.png", png_bytes(np.zeros((1, 1), np.uint8)), "image/png")}, {}, 422),
        (
            {"image": ("a.png", png_bytes(image), "image/png"), "ground_truth": ("m.png", wrong_size, "image/png")},
            {},
            422,
        ),
        ({"image": ("a.png", png_bytes(image), "image/png")}, {"models": "unetpp,resnet"}, 400),
    ]
    for files, data, expected in cases:
        response = client.post("/api/scans", files=files, data=data)
        assert response.status_code == expected, (expected, response.text)
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert _stored_state(runtime) == (0, [])


def test_body_over_the_limit_is_413(embedded_settings, tiny_artifacts) -> None:
    settings = embedded_settings.model_copy(update={"MAX_UPLOAD_BYTES": 100_000})
    upgrade(settings.database_url)
    runtime, app = build_embedded(settings)
    noise = np.random.default_rng(0).integers(0, 255, (400, 400), dtype=np.uint8)
    with TestClient(app) as client:
        response = client.post("/api/scans", files={"image": ("big.png", png_bytes(noise), "image/png")})
        assert response.status_code == 413
        assert "100,000 bytes" in response.json()["detail"]
        assert _stored_state(runtime) == (0, [])


def test_every_response_carries_security_headers_and_cors_is_closed(embedded) -> None:
    _runtime, _app, client = embedded
    for path in ("/", "/api/scans", "/api/scans/" + "0" * 32, "/healthz"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        policy = response.headers["content-security-policy"]  # enforced by default
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, path
    preflight = client.options(
        "/api/scans", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    cross = client.get("/api/scans", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in cross.headers


def test_the_content_security_policy_can_be_relaxed_to_report_only(embedded_settings) -> None:
    upgrade(embedded_settings.database_url)
    _runtime, app = build_embedded(embedded_settings.model_copy(update={"CSP_ENFORCE": False}))
    with TestClient(app) as client:
        headers = client.get("/").headers
        assert "object-src 'none'" in headers["content-security-policy-report-only"]
        assert "content-security-policy" not in headers
        # The docs page keeps its own policy (issue 15), enforced: it allows the docs' CDN and nothing else.
        assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]


def test_file_names_never_reach_the_logs(embedded, caplog) -> None:
    # File names often carry patient names or ids; the logs name scans by their random id only.
    _runtime, _app, client = embedded
    caplog.set_level("DEBUG")
    files = upload_files(seed=12)
    files["image"] = ("DOE_JOHN_1957-03-02_MRN123456.png", *files["image"][1:])
    scan_id = client.post("/api/scans", files=files).json()["id"]
    wait_final(_json(client), scan_id)
    assert scan_id in caplog.text
    assert "DOE_JOHN" not in caplog.text and "MRN123456" not in caplog.text


def test_the_relay_marks_jobs_sent_and_purges_old_sent_rows(embedded) -> None:
    runtime, _app, client = embedded
    scan_id = client.post("/api/scans", files=upload_files(seed=13)).json()["id"]
    wait_final(_json(client), scan_id)
    with runtime.sessions.begin() as session:
        rows = session.query(OutboxMessage).filter(OutboxMessage.scan_id == scan_id).all()
        assert len(rows) == 2 and all(r.sent_at is not None for r in rows)
        rows[0].sent_at = datetime.now(UTC) - timedelta(days=30)
    relay = OutboxRelay(runtime, ("unetpp", "attention_unet"))
    assert relay.purge() == 1
    with runtime.sessions() as session:
        assert session.query(OutboxMessage).filter(OutboxMessage.scan_id == scan_id).count() == 1


def test_an_artifact_that_does_not_match_the_code_fails_with_a_clear_message(embedded_settings, tmp_path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(embedded_settings.ARTIFACTS_DIR, broken)
    card = json.loads((broken / "unetpp" / "model_card.json").read_text())
    card["network"]["widths"] = [8, 16, 32]  # the weights were saved for [4, 8, 16]
    (broken / "unetpp" / "model_card.json").write_text(json.dumps(card))
    settings = embedded_settings.model_copy(update={"ARTIFACTS_DIR": broken})
    upgrade(settings.database_url)
    with pytest.raises(MissingArtifactError, match=r"unetpp model in .* cannot be loaded .*make train"):
        build_embedded(settings)


def test_a_missing_artifact_names_the_folder_and_how_to_train(embedded_settings, tmp_path) -> None:
    settings = embedded_settings.model_copy(update={"ARTIFACTS_DIR": tmp_path / "empty"})
    upgrade(settings.database_url)
    with pytest.raises(MissingArtifactError, match=r"no trained unetpp model under .*empty.*make train"):
        build_embedded(settings)
