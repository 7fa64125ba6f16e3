"""One mask rule on every path: the decoder, the training loader, the gateway (HTTP) and the worker.

Each encoding below holds the same lesion; every path must read exactly that lesion from it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from uuid import uuid4

import numpy as np
import pytest
from PIL import Image

from brainmets.config import Settings
from brainmets.db import Result, Scan
from brainmets.db.migrate import upgrade
from brainmets.db.scans import add_scan
from brainmets.imaging.decode import decode_mask
from brainmets.imaging.masks import binarize_mask
from brainmets.inference import SegmentationResult, Segmenter
from brainmets.messaging import JobMessage
from services.core.runtime import build_runtime
from services.gateway.validation import Limits, UploadRejected, check_mask
from services.worker.processor import JobProcessor
from tests.services.synthetic import head_slice, png_bytes, tiff_bytes

SIZE = 48
IMAGE, LESION = head_slice(SIZE, seed=5)
LIMITS = Limits(max_bytes=2_000_000, max_pixels=1024 * 1024, min_side=16)


def _pillow(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _red_on_opaque_alpha(mask: np.ndarray) -> bytes:
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., 0] = np.where(mask, 255, 0)
    rgba[..., 3] = 255  # an opaque alpha channel must not read as lesion everywhere
    return _pillow(Image.fromarray(rgba, mode="RGBA"))


ENCODINGS: dict[str, Callable[[np.ndarray], bytes]] = {
    "0/1 8-bit PNG": lambda m: png_bytes(m.astype(np.uint8)),
    "0/255 8-bit PNG": lambda m: png_bytes(np.where(m, 255, 0).astype(np.uint8)),
    "0/65535 16-bit PNG": lambda m: png_bytes(np.where(m, 65535, 0).astype(np.uint16)),
    "boolean 1-bit PNG": lambda m: _pillow(Image.fromarray(m)),
    "0/1 TIFF": lambda m: tiff_bytes(m.astype(np.uint8)),
    "0/65535 TIFF": lambda m: tiff_bytes(np.where(m, 65535, 0).astype(np.uint16)),
    "boolean TIFF": lambda m: tiff_bytes(m),
    "0/1 float TIFF": lambda m: tiff_bytes(m.astype(np.float32)),
    "red on opaque alpha PNG": _red_on_opaque_alpha,
    "0/255 JPEG": lambda m: _pillow(Image.fromarray(np.where(m, 255, 0).astype(np.uint8)), "JPEG", quality=90),
}


def test_the_encodings_really_differ() -> None:
    """Guards the test data: the JPEG carries compression noise that a non-zero rule would call lesion."""
    jpeg = np.asarray(Image.open(io.BytesIO(ENCODINGS["0/255 JPEG"](LESION))))
    assert np.count_nonzero(jpeg) > np.count_nonzero(LESION)
    assert len({ENCODINGS[name](LESION) for name in ENCODINGS}) == len(ENCODINGS)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_decoder_reads_the_same_lesion_from_every_encoding(encoding: str) -> None:
    decoded = decode_mask(ENCODINGS[encoding](LESION))
    assert decoded.dtype == bool
    np.testing.assert_array_equal(decoded, LESION)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_gateway_check_reads_the_same_lesion_from_every_encoding(encoding: str) -> None:
    np.testing.assert_array_equal(check_mask(ENCODINGS[encoding](LESION), LESION.shape, LIMITS), LESION)


@pytest.mark.parametrize(
    ("pixels", "lossy", "expected"),
    [
        (np.array([[0, 1], [2, 255]], np.uint8), False, [[False, True], [True, True]]),
        (np.array([[0, 1], [40000, 65535]], np.uint16), False, [[False, True], [True, True]]),
        (np.array([[0, 127], [128, 255]], np.uint8), True, [[False, False], [True, True]]),
        (np.array([[0.0, 0.5], [0.51, 255.0]], np.float32), False, [[False, False], [True, True]]),
        (np.array([[False, True], [True, False]]), False, [[False, True], [True, False]]),
    ],
)
def test_binarize_mask_states_the_rule(pixels: np.ndarray, lossy: bool, expected: list[list[bool]]) -> None:
    assert binarize_mask(pixels, lossy=lossy).tolist() == expected


def test_the_training_loader_reads_0_1_masks_as_lesion(tmp_path: Path) -> None:
    from training.data import discover_patients, read_patient

    folder = tmp_path / "TCGA_XX_0001_20000101"
    folder.mkdir()
    for n, encoding in enumerate(("0/1 8-bit PNG", "0/255 8-bit PNG", "0/65535 16-bit PNG"), start=1):
        (folder / f"case_{n}.png").write_bytes(png_bytes(IMAGE))
        (folder / f"case_{n}_mask.png").write_bytes(ENCODINGS[encoding](LESION))
    (patient,) = discover_patients(tmp_path)
    volume = read_patient(patient)
    assert len(volume.masks) == 3
    for mask in volume.masks:
        np.testing.assert_array_equal(mask, LESION)


@pytest.mark.parametrize(
    ("pixels", "fmt", "words"),
    [
        (np.where(LESION, 200, 10).astype(np.uint8), "PNG", "not binary"),  # background must be 0
        (LESION.astype(np.uint8), "JPEG", "brightest pixel is 1"),  # would read as empty
    ],
    ids=["background not 0", "0/1 JPEG"],
)
def test_the_gateway_refuses_masks_the_rule_would_misread(pixels: np.ndarray, fmt: str, words: str) -> None:
    data = _pillow(Image.fromarray(pixels), fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    with pytest.raises(UploadRejected) as info:
        check_mask(data, LESION.shape, LIMITS)
    assert info.value.status_code == 422
    assert words in info.value.detail


def test_uploaded_ground_truths_are_stored_as_the_same_lesion(embedded) -> None:
    _runtime, _app, client = embedded
    for encoding, encode in ENCODINGS.items():
        files = {"image": ("a.png", png_bytes(IMAGE), "image/png"), "ground_truth": ("m", encode(LESION), "")}
        response = client.post("/api/scans", files=files, data={"models": "unetpp"})
        assert response.status_code == 202, (encoding, response.text)
        stored = client.get(f"/api/scans/{response.json()['id']}/ground-truth")
        assert stored.status_code == 200
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(stored.content))) != 0, LESION, encoding)


class _PerfectSegmenter:
    """Predicts exactly ``LESION``: the worker's Dice is then 1.0 if, and only if, it read the truth right."""

    name = "unetpp"
    version = "perfect-1"
    device = "cpu"
    has_attention = False

    def timed_predict(self, image: np.ndarray, with_attention: bool = False) -> tuple[SegmentationResult, float]:
        return SegmentationResult(probability=LESION.astype(np.float32), mask=LESION.copy()), 1.0


def test_the_worker_scores_every_stored_encoding_of_the_truth(tmp_path: Path) -> None:
    settings = Settings(VAR_DIR=tmp_path / "var", ARTIFACTS_DIR=tmp_path / "none")
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    processor = JobProcessor(runtime, cast(Segmenter, _PerfectSegmenter()))
    try:
        for encoding, encode in ENCODINGS.items():
            scan_id = uuid4().hex
            keys = {"image": f"scans/{scan_id}/image", "truth": f"scans/{scan_id}/ground-truth"}
            runtime.store.put(keys["image"], png_bytes(IMAGE), "image/png")
            runtime.store.put(keys["truth"], encode(LESION), "application/octet-stream")
            scan = Scan(
                id=scan_id,
                filename="a.png",
                content_type="image/png",
                width=SIZE,
                height=SIZE,
                models=["unetpp"],
                image_key=keys["image"],
                display_key=keys["image"],
                ground_truth_key=keys["truth"],
            )
            with runtime.sessions.begin() as session:
                add_scan(session, scan, [])
            job = JobMessage(
                scan_id=scan_id,
                model="unetpp",
                image_key=keys["image"],
                ground_truth_key=keys["truth"],
                width=SIZE,
                height=SIZE,
                created_at=datetime.now(UTC),
            )
            processor.handle(job, attempt=0)
            with runtime.sessions() as session:
                result = session.query(Result).filter_by(scan_id=scan_id).one()
                assert result.metrics is not None, encoding
                assert result.metrics["dice"] == pytest.approx(1.0), encoding
    finally:
        runtime.close()
