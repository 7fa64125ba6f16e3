"""Upload checks by content: status codes and messages a person can act on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from brainmets.networks import MODEL_NAMES
from services.gateway.validation import Limits, UploadRejected, check_image, check_mask, parse_models, sniff_type
from tests.services.synthetic import head_slice, png_bytes, tiff_bytes

LIMITS = Limits(max_bytes=2_000_000, max_pixels=1024 * 1024, min_side=16)


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _rejected(call, *args) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (None, MODEL_NAMES),
        ("", MODEL_NAMES),
        ("unetpp", ("unetpp",)),
        (" attention_unet , unetpp,unetpp", ("attention_unet", "unetpp")),
    ],
)
def test_parse_models_accepts_subsets(field, expected) -> None:
    assert parse_models(field, MODEL_NAMES, MODEL_NAMES) == tuple(expected)


def test_parse_models_names_the_choices_for_an_unknown_model() -> None:
    error = _rejected(parse_models, "unetpp,vnet", MODEL_NAMES, MODEL_NAMES)
    assert error.status_code == 400
    assert "vnet" in error.detail and "attention_unet" in error.detail


def test_sniff_type_reads_content_not_names() -> None:
    image, _ = head_slice(32)
    assert sniff_type(png_bytes(image)) == "image/png"
    assert sniff_type(_encode(Image.fromarray(image), "JPEG")) == "image/jpeg"
    assert sniff_type(tiff_bytes(image)) == "image/tiff"
    assert sniff_type(_encode(Image.fromarray(image), "GIF")) is None


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 422, "empty"),
        (b"%PDF-1.7 not an image", 415, "PNG, JPEG or TIFF"),
        (png_bytes(np.zeros((64, 64), np.uint8))[:60], 422, "could not be read"),
        (png_bytes(np.zeros((1, 1), np.uint8)), 422, "at least 16"),
        (png_bytes(np.zeros((8, 400), np.uint8)), 422, "at least 16"),
        (b"\x00" * 2_000_001, 413, "limit"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(data: bytes, status: int, words: str) -> None:
    error = _rejected(check_image, data, LIMITS)
    assert error.status_code == status
    assert words in error.detail


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = _encode(Image.new("L", (4000, 4000)), optimize=True)
    assert len(bomb) < 100_000  # tiny file, huge image
    error = _rejected(check_image, bomb, LIMITS)
    assert error.status_code == 422
    assert "pixels" in error.detail


def test_animated_images_are_refused() -> None:
    frames = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (0, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    error = _rejected(check_image, buffer.getvalue(), LIMITS)
    assert error.status_code == 422
    assert "single slice" in error.detail


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "RGB"])
def test_common_pixel_formats_are_accepted(mode: str) -> None:
    image, _ = head_slice(32)
    source = Image.fromarray(image)
    converted = Image.fromarray(image.astype(np.uint16) * 200) if mode == "I;16" else source.convert(mode)
    array, content_type = check_image(_encode(converted), LIMITS)
    assert content_type == "image/png"
    assert array.shape == (32, 32)
    # The lesion stays brighter than the head whatever the encoding.
    assert array[image > 200].mean() > array[(image > 50) & (image < 150)].mean()


def test_masks_in_0_1_or_0_255_agree() -> None:
    _, lesion = head_slice(32, seed=3)
    as_01 = check_mask(png_bytes(lesion.astype(np.uint8)), (32, 32), LIMITS)
    as_255 = check_mask(png_bytes(np.where(lesion, 255, 0).astype(np.uint8)), (32, 32), LIMITS)
    np.testing.assert_array_equal(as_01, lesion)
    np.testing.assert_array_equal(as_255, lesion)


def test_an_empty_mask_is_valid() -> None:
    assert not check_mask(png_bytes(np.zeros((32, 32), np.uint8)), (32, 32), LIMITS).any()


def test_mask_of_another_size_is_422_naming_both_sizes() -> None:
    error = _rejected(check_mask, png_bytes(np.zeros((20, 30), np.uint8)), (32, 32), LIMITS)
    assert error.status_code == 422
    assert "30x20" in error.detail and "32x32" in error.detail


def test_a_grey_image_as_mask_is_not_binary() -> None:
    image, _ = head_slice(32)
    gradient = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
    error = _rejected(check_mask, png_bytes(gradient), image.shape, LIMITS)
    assert error.status_code == 422
    assert "not binary" in error.detail
