"""Reading an uploaded zip without trusting it: member count, uncompressed size and member paths are checked
from the central directory before anything is inflated, and each member is read no further than it declares."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from brainmets.source import Source, open_source
from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.volume import VolumeRejected

ZIP_MAGIC = b"PK\x03\x04"


# Enough of a member to tell what it is (a DICOM file's 128-byte preamble and its "DICM" mark).
HEAD_BYTES = 132


def sniff_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def _unsafe(name: str) -> bool:
    """Absolute paths, drive letters and ``..`` would point outside the archive when extracted."""
    path = name.replace("\\", "/")
    parts = PurePosixPath(path).parts
    return path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in parts


def zip_members(
    source: Source, limits: VolumeLimits, keep: Callable[[str, bytes], bool] | None = None
) -> Iterator[tuple[str, bytes]]:
    """Each file member's name and bytes, after the whole archive has passed the checks.

    Members are inflated one at a time from ``source`` (bytes or a seekable file), so memory holds one member,
    not the archive. ``keep(name, head)`` sees a member's name and first bytes and may skip it unread.
    """
    try:
        archive = zipfile.ZipFile(open_source(source))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise VolumeRejected(422, f"the zip cannot be read: {exc}") from None
    if len(infos) > limits.max_zip_members:
        raise VolumeRejected(413, f"the zip holds {len(infos):,} files; the limit is {limits.max_zip_members:,}")
    for info in infos:
        if _unsafe(info.filename):
            raise VolumeRejected(
                422, f"the zip member {info.filename[:100]!r} points outside the archive; zip the folder as it is"
            )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_zip_bytes:
        raise VolumeRejected(
            413,
            f"the zip inflates to {declared:,} bytes; the limit is {limits.max_zip_bytes:,} bytes (zip bomb guard)",
        )
    with archive:
        for info in infos:
            try:
                with archive.open(info) as member:
                    head = member.read(HEAD_BYTES)
                    if keep is not None and not keep(info.filename, head):
                        continue
                    # zipfile stops at the declared size and checks the CRC, so a lying header is an error.
                    raw = head + member.read(info.file_size + 1 - len(head))
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
                raise VolumeRejected(422, f"the zip member {info.filename[:100]!r} cannot be read: {exc}") from None
            yield info.filename, raw
