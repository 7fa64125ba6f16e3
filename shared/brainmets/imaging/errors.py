"""What decoding an upload can refuse, in words a user can act on."""

from __future__ import annotations


class ImageDecodeError(ValueError):
    """The bytes are not a usable 2D image; the message says why in words a user can act on."""


class UnsupportedImageError(ImageDecodeError):
    """A readable file in a layout or encoding the service does not take (an HTTP 415, not a 422)."""
