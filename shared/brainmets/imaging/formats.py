"""The file types an upload may be, with the extensions a file picker offers for them.

The gateway recognises these by their first bytes (``services.gateway.validation.sniff_type``); the web app's
file check and picker read them from ``GET /api/config``. No imports: the results API serves them without
loading the decoders.
"""

from __future__ import annotations

MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/tiff": (".tif", ".tiff"),
}
