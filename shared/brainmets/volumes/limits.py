"""The bounds every volume reader enforces (set from ``Settings``; see the README for the defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VolumeLimits:
    max_bytes: int  # an uploaded file, as sent
    max_slices: int  # along any one axis
    max_voxels: int
    max_zip_members: int
    max_zip_bytes: int  # a zip's members, uncompressed, together

    @classmethod
    def from_settings(cls, settings: object) -> VolumeLimits:
        return cls(
            max_bytes=settings.MAX_VOLUME_UPLOAD_BYTES,  # type: ignore[attr-defined]
            max_slices=settings.MAX_VOLUME_SLICES,  # type: ignore[attr-defined]
            max_voxels=settings.MAX_VOLUME_VOXELS,  # type: ignore[attr-defined]
            max_zip_members=settings.MAX_ZIP_MEMBERS,  # type: ignore[attr-defined]
            max_zip_bytes=settings.MAX_ZIP_UNCOMPRESSED_BYTES,  # type: ignore[attr-defined]
        )
