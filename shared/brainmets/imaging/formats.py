"""The file types an upload may be, with the extensions a file picker offers for them.

The gateway recognises these by their first bytes (``services.gateway.validation.sniff_type`` for slices,
``services.gateway.volume_validation.is_volume`` for volumes); the web app's
file check and picker read them from ``GET /api/config``. No imports: the results API serves them without
loading the decoders.
"""

from __future__ import annotations

MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/tiff": (".tif", ".tiff"),
}

# Whole studies: a NIfTI volume (plain or gzipped), or a zip of one DICOM MR series or of numbered 2D slices.
# The media types are the ones a volume scan records as its content type.
VOLUME_MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "application/x-nifti": (".nii", ".nii.gz"),
    "application/zip": (".zip",),
}
