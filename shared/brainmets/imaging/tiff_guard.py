"""Check a TIFF from its tags before a single pixel is decoded.

``page.shape`` is the wrong thing to bound: for a planar-separate RGB page it is ``(3, length, width)``, so a
first-two-axes pixel count sees 3 x 16 while the page holds 16 x 1,100,000 pixels. This reads ImageWidth,
ImageLength, ImageDepth and SamplesPerPixel themselves, takes one single-image page in a compression it can bound,
and proves that no strip or tile inflates past its declared size (tifffile's built-in zlib and LZMA decoders have no
output limit: a 389 kB strip of zeros decoded to 400 MB on a 16 x 16 page).
"""

from __future__ import annotations

import lzma
import math
import zlib
from collections.abc import Callable

from tifffile import TiffFile, TiffPage

from brainmets.imaging.errors import ImageDecodeError, UnsupportedImageError

NONE, ADOBE_DEFLATE, DEFLATE, LZMA = 1, 8, 32946, 34925
COMPRESSION_NAMES = {NONE: "none", ADOBE_DEFLATE: "Deflate (ZIP)", DEFLATE: "Deflate (ZIP)", LZMA: "LZMA"}
MAX_SAMPLES = 4  # grey, grey + alpha, RGB, RGBA
# Tiles may overhang a small image (libtiff writes 256 x 256 tiles for a 20 x 20 one): each is decoded whole, so
# its area is bounded too, by the pixel limit or this much, whichever is larger (32 MB at 4 x 64-bit samples).
TILE_ALLOWANCE = 1024 * 1024
# A segment may inflate a little past rows x row bytes (writers pad); never by more than this.
SLACK_BYTES = 1024
SAVE_AS = "save the slice as an uncompressed or Deflate (ZIP) TIFF, or as PNG"


def check_tiff(tif: TiffFile, data: bytes, max_pixels: int) -> TiffPage:
    """The one page to decode, once its tags and every compressed segment are known to fit ``max_pixels``."""
    page = tif.pages.first
    if not isinstance(page, TiffPage):
        raise UnsupportedImageError("the TIFF's first image could not be read as a plain page; " + SAVE_AS)
    _check_single_image(tif, page)
    _check_layout(page)
    width, length = int(page.imagewidth), int(page.imagelength)
    if width * length > max_pixels:
        raise ImageDecodeError(
            f"the image is {width}x{length} pixels, more than the limit of {max_pixels:,} pixels; "
            "upload a single slice at its acquired resolution"
        )
    tile_limit = max(max_pixels, TILE_ALLOWANCE)
    if page.is_tiled and int(page.tilewidth) * int(page.tilelength) > tile_limit:
        raise ImageDecodeError(
            f"the TIFF's tiles are {page.tilewidth}x{page.tilelength} pixels, more than the limit of "
            f"{tile_limit:,} pixels per tile; " + SAVE_AS
        )
    _check_segments(page, data)
    return page


def _check_single_image(tif: TiffFile, page: TiffPage) -> None:
    try:
        tif.pages[1]
    except IndexError:
        pass
    except Exception as exc:  # an unreadable second IFD is still a second image
        raise UnsupportedImageError("the TIFF holds more than one image; upload a single slice") from exc
    else:
        raise UnsupportedImageError("the TIFF holds more than one image (pages); upload a single slice")
    if page.subifds:
        raise UnsupportedImageError("the TIFF holds extra images (SubIFDs, e.g. a pyramid); upload a single slice")


def _check_layout(page: TiffPage) -> None:
    if int(page.imagedepth) > 1:
        raise UnsupportedImageError(f"the TIFF is a volume ({page.imagedepth} planes deep); upload one 2D slice")
    samples = int(page.samplesperpixel)
    if not 1 <= samples <= MAX_SAMPLES:
        raise UnsupportedImageError(
            f"the TIFF has {samples} samples per pixel; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)"
        )
    if int(page.compression) not in COMPRESSION_NAMES:
        raise UnsupportedImageError(f"the TIFF's compression ({_compression_name(page)}) is not supported; " + SAVE_AS)


def _check_segments(page: TiffPage, data: bytes) -> None:
    """Inflate each strip or tile only as far as its declared size: a bomb stops at that many bytes."""
    inflate = _bounded_inflater(int(page.compression))
    if inflate is None:
        return  # stored as is: a segment is never larger than the file
    limit = _segment_bytes(page) + SLACK_BYTES
    for offset, count in zip(page.dataoffsets, page.databytecounts, strict=True):
        if count and inflate(data[offset : offset + count], limit) > limit:
            raise ImageDecodeError(
                "a strip or tile of the TIFF inflates to more bytes than its pixels need "
                "(possible decompression bomb); " + SAVE_AS
            )


def _segment_bytes(page: TiffPage) -> int:
    """Rows x row bytes of one strip or tile; sub-byte samples are counted as whole bytes (an upper bound)."""
    samples = int(page.samplesperpixel) if int(page.planarconfig) == 1 else 1
    bits = max(8, *_as_tuple(page.tags.valueof(258, 8)))
    if page.is_tiled:
        rows, width = int(page.tiledepth) * int(page.tilelength), int(page.tilewidth)
    else:
        rows, width = min(int(page.rowsperstrip), int(page.imagelength)), int(page.imagewidth)
    return rows * math.ceil(width * samples * bits / 8)


def _bounded_inflater(compression: int) -> Callable[[bytes, int], int] | None:
    """A function giving how many bytes a segment inflates to, stopping one past ``limit``."""
    if compression in (ADOBE_DEFLATE, DEFLATE):
        return lambda chunk, limit: len(_zlib_inflate(chunk, limit + 1))
    if compression == LZMA:
        return lambda chunk, limit: len(_lzma_inflate(chunk, limit + 1))
    return None


def _zlib_inflate(chunk: bytes, max_length: int) -> bytes:
    try:
        return zlib.decompressobj().decompress(chunk, max_length)
    except zlib.error as exc:
        raise ImageDecodeError("a strip or tile of the TIFF is not valid Deflate data (the file is corrupt)") from exc


def _lzma_inflate(chunk: bytes, max_length: int) -> bytes:
    try:
        return lzma.LZMADecompressor().decompress(chunk, max_length)
    except lzma.LZMAError as exc:
        raise ImageDecodeError("a strip or tile of the TIFF is not valid LZMA data (the file is corrupt)") from exc


def _compression_name(page: TiffPage) -> str:
    try:
        return page.compression.name  # a tifffile COMPRESSION enum member
    except AttributeError:
        return f"code {int(page.compression)}"


def _as_tuple(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,)
