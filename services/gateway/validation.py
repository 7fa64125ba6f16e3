"""Checks on an upload, by content: each failure carries the HTTP status and a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainmets.imaging.decode import ImageDecodeError, decode_image, decode_mask_pixels, is_jpeg, is_tiff
from brainmets.imaging.errors import UnsupportedImageError
from brainmets.imaging.masks import binarize_mask

# Share of pixels that must be background or near the mask's top value for it to count as binary: a few
# anti-aliased edge pixels pass, a grey photograph or a probability map does not.
BINARY_SHARE = 0.98
# How near the top value a lesion pixel must be, and (JPEG only) how near 0 a background pixel, as a share of
# the top value: JPEG leaves faint noise in the background, a lossless mask's background is exactly 0.
LEVEL_MARGIN = 0.1


class UploadRejected(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    min_side: int


@dataclass(frozen=True)
class ValidUpload:
    image: np.ndarray  # float32 (H, W)
    content_type: str
    ground_truth: np.ndarray | None  # bool (H, W)
    models: tuple[str, ...]


def sniff_type(data: bytes) -> str | None:
    """The image type from its first bytes; ``None`` for anything but PNG, JPEG and TIFF."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if is_jpeg(data):
        return "image/jpeg"
    if is_tiff(data):
        return "image/tiff"
    return None


def parse_models(field: str | None, known: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    if field is None or not field.strip():
        return tuple(default)
    chosen: list[str] = []
    for name in (part.strip() for part in field.split(",")):
        if not name:
            continue
        if name not in known:
            raise UploadRejected(400, f"unknown model {name[:64]!r}; choose from {', '.join(known)}")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise UploadRejected(400, f"no model named; choose from {', '.join(known)}")
    return tuple(chosen)


def check_bytes(data: bytes, limits: Limits, what: str) -> str:
    """Size and type by the first bytes, before anything is decoded; returns the content type."""
    if len(data) > limits.max_bytes:
        raise UploadRejected(413, f"the {what} is {len(data):,} bytes, over the limit of {limits.max_bytes:,} bytes")
    if not data:
        raise UploadRejected(422, f"the {what} file is empty")
    content_type = sniff_type(data)
    if content_type is None:
        raise UploadRejected(415, f"the {what} is not a PNG, JPEG or TIFF image; export the slice in one of those")
    return content_type


def check_image(data: bytes, limits: Limits, what: str = "image") -> tuple[np.ndarray, str]:
    content_type = check_bytes(data, limits, what)
    try:
        array = decode_image(data, max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        raise _unreadable(what, exc) from exc
    height, width = array.shape
    if min(height, width) < limits.min_side:
        raise UploadRejected(
            422, f"the {what} is {width}x{height} pixels; each side must be at least {limits.min_side} pixels"
        )
    if not np.isfinite(array).all():
        raise UploadRejected(422, f"the {what} holds NaN or infinite values")
    return array, content_type


def _unreadable(what: str, exc: ImageDecodeError) -> UploadRejected:
    """415 for a layout or encoding the service does not take, 422 for a file it cannot use."""
    if isinstance(exc, UnsupportedImageError):
        return UploadRejected(415, f"the {what} is in an unsupported form: {exc}")
    return UploadRejected(422, f"the {what} could not be read: {exc}")


def check_mask(data: bytes, shape: tuple[int, int], limits: Limits) -> np.ndarray:
    """A binary mask the size of the scan, read by the one rule of ``brainmets.imaging.masks``."""
    what = "ground-truth mask"
    content_type = check_bytes(data, limits, what)
    try:
        pixels = decode_mask_pixels(data, max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        raise _unreadable(what, exc) from exc
    if pixels.shape != shape:
        raise UploadRejected(
            422,
            f"the {what} is {pixels.shape[1]}x{pixels.shape[0]} pixels but the image is "
            f"{shape[1]}x{shape[0]}; upload the mask that belongs to this slice",
        )
    lossy = content_type == "image/jpeg"
    check_mask_levels(pixels, lossy=lossy)
    return binarize_mask(pixels, lossy=lossy)


def check_mask_levels(pixels: np.ndarray, *, lossy: bool) -> None:
    """Refuse what the rule would misread: grey levels, a background that is not 0, a JPEG mask not at 255."""
    if pixels.dtype.kind == "f" and not np.isfinite(pixels).all():
        raise UploadRejected(422, "the ground-truth mask holds NaN or infinite values")
    top = float(pixels.max(initial=0))
    if top <= 0:
        return  # no lesion on this slice
    if lossy and not binarize_mask(pixels, lossy=True).any():
        raise UploadRejected(
            422,
            f"the ground-truth JPEG's brightest pixel is {top:.0f}, so it holds no lesion at 255; "
            "save the mask as PNG or TIFF (0/1 is fine there), or as a JPEG with lesion at 255",
        )
    background = pixels <= LEVEL_MARGIN * top if lossy else pixels == 0
    near_ends = np.count_nonzero(background | (pixels >= (1 - LEVEL_MARGIN) * top))
    if near_ends < BINARY_SHARE * pixels.size:
        raise UploadRejected(
            422,
            "the ground-truth mask is not binary (it has many intermediate grey levels); "
            "upload a mask with background 0 and lesion at one other value",
        )


def validate_upload(
    image: bytes,
    ground_truth: bytes | None,
    models_field: str | None,
    limits: Limits,
    known_models: Sequence[str],
    default_models: Sequence[str],
) -> ValidUpload:
    models = parse_models(models_field, known_models, default_models)
    array, content_type = check_image(image, limits)
    mask = None if ground_truth is None else check_mask(ground_truth, array.shape, limits)
    return ValidUpload(array, content_type, mask, models)
