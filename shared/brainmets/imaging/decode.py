"""Decode a 2D MRI slice or mask from bytes or a file, by content, to a float or boolean array.

Channel rules (the public LGG release, Buda et al.): a 3-channel TIFF holds pre-contrast, FLAIR and
post-contrast, so channel 1 (FLAIR) is taken. Other RGB images become luminance; 1-channel images are used as
they are; an alpha channel is dropped; palette images are expanded first. Masks keep their pixels as stored
(no channel pick, no luminance) and become boolean by the one rule in ``brainmets.imaging.masks``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from brainmets.imaging.errors import ImageDecodeError
from brainmets.imaging.masks import binarize_mask, mask_plane
from brainmets.imaging.tiff_guard import check_tiff

FLAIR_CHANNEL = 1
PLANAR_SEPARATE = 2  # TIFF PlanarConfiguration: one plane per sample
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
JPEG_MAGIC = b"\xff\xd8\xff"
# Pillow's own bomb guard warns at this many pixels; we refuse well below its hard error.
DEFAULT_MAX_PIXELS = 4096 * 4096


def is_tiff(data: bytes) -> bool:
    return data[:4] in TIFF_MAGIC


def is_jpeg(data: bytes) -> bool:
    return data.startswith(JPEG_MAGIC)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an MRI slice to a 2D float32 array in its own intensity units (8- or 16-bit kept as is)."""
    if not data:
        raise ImageDecodeError("the file is empty")
    array = _read_tiff(data, max_pixels) if is_tiff(data) else _read_pillow(data, max_pixels)
    return to_single_channel(array).astype(np.float32)


def decode_mask(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a mask to a boolean array: non-zero is lesion (above half range for JPEG), see ``imaging.masks``."""
    return binarize_mask(decode_mask_pixels(data, max_pixels), lossy=is_jpeg(data))


def decode_mask_pixels(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask's pixels as stored, in one (H, W) plane: any dtype, before binarisation."""
    if not data:
        raise ImageDecodeError("the mask file is empty")
    read = _read_tiff if is_tiff(data) else _read_pillow
    array = read(data, max_pixels, as_mask=True)
    try:
        return mask_plane(array)
    except ValueError as exc:
        raise ImageDecodeError(str(exc)) from exc


def read_image(path: str | Path) -> np.ndarray:
    return decode_image(Path(path).read_bytes(), max_pixels=1 << 40)


def read_mask(path: str | Path) -> np.ndarray:
    return decode_mask(Path(path).read_bytes(), max_pixels=1 << 40)


def to_single_channel(array: np.ndarray) -> np.ndarray:
    """Reduce (H, W), (H, W, C) or (C, H, W) to (H, W) following the module's channel rules."""
    if array.ndim == 2:
        return array
    if array.ndim != 3:
        raise ImageDecodeError(f"expected a 2D image, got an array shaped {array.shape}")
    channels = array.shape[-1]
    if channels == 1:
        return array[..., 0]
    if channels == 2:  # grey + alpha
        return array[..., 0]
    if channels in (3, 4):
        return rgb_to_luminance(array[..., :3].astype(np.float32))
    raise ImageDecodeError(f"unsupported channel count {channels}")


def _read_tiff(data: bytes, max_pixels: int, as_mask: bool = False) -> np.ndarray:
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = check_tiff(tif, data, max_pixels)  # from the tags, before a pixel is decoded
            array = page.asarray()
            planar = int(page.planarconfig) == PLANAR_SEPARATE and array.ndim == 3
    except ImageDecodeError:
        raise
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise ImageDecodeError(f"the TIFF could not be read ({exc.__class__.__name__})") from exc
    if planar:
        array = np.moveaxis(array, 0, -1)  # (samples, length, width) -> (length, width, samples)
    if not as_mask and array.ndim == 3 and array.shape[-1] in (3, 4):
        # The public dataset's TIFFs: (pre-contrast, FLAIR, post-contrast).
        return array[..., FLAIR_CHANNEL]
    return array


def _read_pillow(data: bytes, max_pixels: int, as_mask: bool = False) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_pixels(image.width * image.height, max_pixels, (image.height, image.width))
            if getattr(image, "n_frames", 1) > 1:
                raise ImageDecodeError("animated or multi-frame images are not supported; upload a single slice")
            image.load()
    except ImageDecodeError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(_pillow_reason(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"the image is corrupt or truncated ({exc})") from exc
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        if as_mask:  # a mask keeps its channels: lesion is wherever one of them is
            return np.asarray(image.convert("RGB"))
        return rgb_to_luminance(np.asarray(image.convert("RGB"), dtype=np.float32))
    if image.mode in ("LA", "PA"):
        image = image.getchannel(0)
    if image.mode == "1":  # bilevel: a mask stays boolean, an image becomes 0/255
        return np.asarray(image) if as_mask else np.asarray(image, dtype=np.uint8) * 255
    return np.asarray(image)


def rgb_to_luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, as Pillow's ``convert("L")`` but without rounding to 8 bits."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _check_pixels(pixels: int, max_pixels: int, shape: tuple[int, ...]) -> None:
    if pixels > max_pixels:
        raise ImageDecodeError(
            f"the image is {shape[1]}x{shape[0]} pixels, more than the limit of {max_pixels:,} pixels; "
            "upload a single slice at its acquired resolution"
        )


def _pillow_reason(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "the file is not a PNG, JPEG or TIFF image"
    return "the image declares more pixels than allowed (possible decompression bomb)"
