"""The bad-input matrix over HTTP (issue 7): every bad upload gets a 4xx with an actionable message and
stores nothing; unusual but valid formats are accepted and handled."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from fastapi.testclient import TestClient
from PIL import Image

from brainmets.db import Scan
from brainmets.db.migrate import upgrade
from services.embedded.main import build_embedded
from tests.services.polling import wait_final
from tests.services.synthetic import head_slice, mask_bytes, png_bytes, tiff_bytes


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _animated() -> bytes:
    frames = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (0, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


IMAGE, LESION = head_slice(64, seed=9)
GOOD = png_bytes(IMAGE)
GRADIENT = png_bytes(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1)))

BAD_UPLOADS = {
    "empty file": ({"image": ("a.png", b"", "image/png")}, {}, 422, "empty"),
    "not an image": ({"image": ("a.png", b"MZ\x90\x00 an executable", "image/png")}, {}, 415, "PNG, JPEG or TIFF"),
    "text named .png": ({"image": ("scan.png", b"patient,slice\n1,2\n", "image/png")}, {}, 415, "PNG, JPEG"),
    "truncated PNG": ({"image": ("a.png", GOOD[: len(GOOD) // 2], "image/png")}, {}, 422, "could not be read"),
    "truncated TIFF": ({"image": ("a.tif", tiff_bytes(IMAGE)[:300], "image/tiff")}, {}, 422, "could not be read"),
    "1x1 image": ({"image": ("a.png", png_bytes(np.zeros((1, 1), np.uint8)), "image/png")}, {}, 422, "at least 16"),
    "decompression bomb": (
        {"image": ("bomb.png", _encode(Image.new("L", (20000, 20000))), "image/png")},
        {},
        422,
        "pixels",
    ),
    "animated PNG": ({"image": ("a.png", _animated(), "image/png")}, {}, 422, "single slice"),
    "GIF": ({"image": ("a.gif", _encode(Image.fromarray(IMAGE), "GIF"), "image/gif")}, {}, 415, "PNG, JPEG"),
    "mask of the wrong size": (
        {"image": ("a.png", GOOD, "image/png"), "ground_truth": ("m.png", mask_bytes(LESION[:32]), "image/png")},
        {},
        422,
        "64x32",
    ),
    "mask not binary": (
        {"image": ("a.png", GOOD, "image/png"), "ground_truth": ("m.png", GRADIENT, "image/png")},
        {},
        422,
        "not binary",
    ),
    "mask not an image": (
        {"image": ("a.png", GOOD, "image/png"), "ground_truth": ("m.png", b"nope", "image/png")},
        {},
        415,
        "ground-truth mask",
    ),
    "unknown model": ({"image": ("a.png", GOOD, "image/png")}, {"models": "unetpp,segformer"}, 400, "segformer"),
    "huge model name": ({"image": ("a.png", GOOD, "image/png")}, {"models": "x" * 5000}, 400, "choose from"),
    "no image field": ({"scan": ("a.png", GOOD, "image/png")}, {}, 422, ""),
}


def _stored(runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        scans = session.query(Scan).count()
    root = runtime.settings.objects_dir
    return scans, sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def test_bad_uploads_are_4xx_with_a_message_and_store_nothing(embedded) -> None:
    # One app for the whole matrix (building one loads both models); each case names itself on failure.
    runtime, _app, client = embedded
    for case, (files, data, status, words) in BAD_UPLOADS.items():
        response = client.post("/api/scans", files=files, data=data)
        assert response.status_code == status, (case, response.text)
        detail = response.json()["detail"]
        assert detail and words in str(detail), (case, detail)
        assert "Traceback" not in response.text, case
        assert _stored(runtime) == (0, 0), case


def test_a_json_body_instead_of_a_form_is_422(embedded) -> None:
    _runtime, _app, client = embedded
    assert client.post("/api/scans", json={"image": "x"}).status_code == 422


def _rgba() -> bytes:
    return _encode(Image.fromarray(IMAGE).convert("RGBA"))


def _palette() -> bytes:
    return _encode(Image.fromarray(IMAGE).convert("P"))


def _png16() -> bytes:
    return _encode(Image.fromarray(IMAGE.astype(np.uint16) * 250))


def _tiff16_rgb() -> bytes:
    stack = np.stack([IMAGE, IMAGE, IMAGE], axis=-1).astype(np.uint16) * 250
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, stack, photometric="rgb")
    return buffer.getvalue()


VALID = {
    "RGBA PNG": _rgba,
    "palette PNG": _palette,
    "16-bit PNG": _png16,
    "16-bit RGB TIFF": _tiff16_rgb,
    "JPEG": lambda: _encode(Image.fromarray(IMAGE), "JPEG", quality=95),
}


@pytest.mark.parametrize("kind", list(VALID), ids=list(VALID))
def test_unusual_valid_formats_are_accepted_and_segmented(embedded, kind: str) -> None:
    _runtime, _app, client = embedded
    files = {
        "image": ("scan", VALID[kind](), "application/octet-stream"),
        "ground_truth": ("m", mask_bytes(LESION), ""),
    }
    response = client.post("/api/scans", files=files, data={"models": "unetpp"})
    assert response.status_code == 202, response.text
    scan = wait_final(lambda path: client.get(path).json(), response.json()["id"])
    assert scan["status"] == "done"
    assert (scan["width"], scan["height"]) == (64, 64)
    display = np.asarray(Image.open(io.BytesIO(client.get(f"/api/scans/{scan['id']}/image").content)))
    # The lesion is the brightest region of the display image whatever the encoding.
    assert display[LESION].mean() > display[~LESION].mean() + 50


HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\config",
    "<img src=x onerror=alert(1)>.png",
    "a\x00b\x1b[31m.png",
    "x" * 1000 + ".png",
    "\u202egnp.exe",
]


def test_hostile_file_names_are_reduced_to_a_harmless_label(embedded) -> None:
    _runtime, _app, client = embedded
    for name in HOSTILE_NAMES:
        response = client.post("/api/scans", files={"image": (name, GOOD, "image/png")}, data={"models": "unetpp"})
        assert response.status_code == 202, response.text
        stored = client.get(f"/api/scans/{response.json()['id']}").json()["filename"]
        assert "/" not in stored and "\\" not in stored and stored != "..", name
        assert all(ch.isprintable() for ch in stored), name
        assert 0 < len(stored) <= 200, name


ROUTES = [
    "/api/scans/{id}",
    "/api/scans/{id}/image",
    "/api/scans/{id}/ground-truth",
    "/api/scans/{id}/masks/unetpp",
    "/api/scans/{id}/probability/unetpp",
    "/api/scans/{id}/attention",
    "/api/scans/{id}/events",
]
BAD_IDS = ["1", "zz" * 16, "' OR 1=1 --", "A" * 32, "%00", "f" * 32]


def test_malformed_or_unknown_ids_are_404_on_every_route(embedded) -> None:
    _runtime, _app, client = embedded
    for path in ROUTES:
        for bad_id in BAD_IDS:
            response = client.get(path.format(id=bad_id))
            assert response.status_code == 404, (path, bad_id, response.text)


def test_a_chunked_body_over_the_limit_is_413_too(embedded_settings) -> None:
    """Without Content-Length the gateway counts the streamed bytes and stops at the limit."""
    settings = embedded_settings.model_copy(update={"MAX_UPLOAD_BYTES": 50_000})
    upgrade(settings.database_url)
    runtime, app = build_embedded(settings)
    boundary = "bmboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(40):
            yield b"\x00" * 10_000  # 400 kB in all, never announced
        yield f"\r\n--{boundary}--\r\n".encode()

    with TestClient(app) as client:
        response = client.post(
            "/api/scans", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert response.status_code == 413
        assert "50,000 bytes" in response.json()["detail"]
        assert _stored(runtime) == (0, 0)
