"""Decoding every supported image kind, and the per-slice normalisation."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from brainmets.imaging.decode import ImageDecodeError, decode_image, decode_mask
from brainmets.imaging.preprocess import NormalizationConfig, normalize, prepare_batch
from tests.synthetic import make_slice


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def test_three_channel_tiff_takes_flair() -> None:
    flair = np.arange(64, dtype=np.uint8).reshape(8, 8)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.stack([flair // 2, flair, 255 - flair], -1), photometric="rgb")
    assert np.array_equal(decode_image(buf.getvalue()), flair.astype(np.float32))


def test_sixteen_bit_png_keeps_its_range() -> None:
    image = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 200).astype(np.uint16)
    decoded = decode_image(png_bytes(image))
    assert decoded.max() == pytest.approx(255 * 200)


def test_rgb_png_becomes_luminance_and_rgba_drops_alpha() -> None:
    grey = np.full((8, 8), 100, np.uint8)
    rgb = np.stack([grey] * 3, -1)
    assert np.allclose(decode_image(png_bytes(rgb)), 100, atol=0.5)
    rgba = np.concatenate([rgb, np.full((8, 8, 1), 7, np.uint8)], -1)
    assert np.allclose(decode_image(png_bytes(rgba)), 100, atol=0.5)


def test_palette_image_is_expanded() -> None:
    image = Image.fromarray(np.full((8, 8), 3, np.uint8), mode="L").convert("P")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    assert np.allclose(decode_image(buf.getvalue()), 3, atol=0.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"hello, not an image", "not a PNG"), (None, "corrupt or truncated")],
)
def test_bad_bytes_get_a_readable_error(data: bytes | None, message: str) -> None:
    if data is None:
        data = png_bytes(np.zeros((64, 64), np.uint8))[:60]
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_image(png_bytes(np.zeros((100, 100), np.uint8)), max_pixels=50 * 50)


def test_animated_image_is_refused() -> None:
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageDecodeError, match="animated"):
        decode_image(buf.getvalue())


def test_mask_is_lesion_wherever_non_zero() -> None:
    # 0/1 label maps are as common as 0/255 masks: both are lesion (every path: tests/services/test_mask_rule.py).
    mask = np.array([[0, 1], [128, 255]], np.uint8)
    assert decode_mask(png_bytes(mask)).tolist() == [[False, True], [True, True]]


def test_normalisation_is_per_slice_and_scale_free() -> None:
    image, _ = make_slice(np.random.default_rng(0), 64)
    a = normalize(image.astype(np.float32))
    b = normalize(image.astype(np.float32) * 257.0)  # the same slice stored as 16-bit
    assert np.allclose(a, b, atol=1e-4)
    from brainmets.imaging.preprocess import head_mask

    head = head_mask(image.astype(np.float32))
    assert abs(float(a[head].mean())) < 0.05 and abs(float(a[head].std()) - 1) < 0.05


def test_constant_image_normalises_to_zeros_and_clahe_runs() -> None:
    assert not normalize(np.full((32, 32), 9.0)).any()
    image, _ = make_slice(np.random.default_rng(0), 64)
    out = normalize(image.astype(np.float32), NormalizationConfig(clahe=True))
    assert out.shape == image.shape and np.isfinite(out).all()


def test_prepare_batch_resizes_mixed_sizes() -> None:
    batch = prepare_batch([np.random.rand(40, 50), np.random.rand(128, 128)], (64, 64))
    assert batch.shape == (2, 1, 64, 64)
