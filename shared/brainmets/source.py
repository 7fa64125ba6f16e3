"""What the volume readers and the object stores take: bytes, or a seekable binary file holding them.

The gateway hands over an upload as the spooled temporary file the multipart parser wrote (on disk past its
first megabyte), and stores a study's objects from spooled files, so that a study of hundreds of megabytes is read
and written in small pieces and never held whole in memory; tests and the training tools pass bytes.
"""

from __future__ import annotations

import io
from typing import BinaryIO

Source = bytes | BinaryIO


def open_source(source: Source) -> BinaryIO:
    """A binary file at its start for ``source``."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    source.seek(0)
    return source


def source_size(source: Source) -> int:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def source_head(source: Source, n: int) -> bytes:
    """The first ``n`` bytes (fewer for a shorter source), leaving a file at its start."""
    stream = open_source(source)
    head = stream.read(n)
    stream.seek(0)
    return head
