"""The interface both object stores implement."""

from __future__ import annotations

import io
import re
from typing import BinaryIO, Protocol

# What ``put`` stores: bytes, or a seekable binary file read from its start in pieces (a study of hundreds of
# megabytes is spooled to disk and streamed, never held whole in memory).
Payload = bytes | BinaryIO

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation."""


class ObjectNotFound(KeyError):
    """No object under that key."""


def validate_key(key: str) -> str:
    """Keys are relative, slash-separated and made of safe characters; no ``..`` segments."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid object key {key!r}")
    return key


def payload_stream(data: Payload) -> tuple[BinaryIO, int]:
    """A binary file at its start for ``data``, and its size in bytes."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return stream, size


class ObjectStore(Protocol):
    def put(self, key: str, data: Payload, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def ping(self) -> None:
        """Raise ``StorageError`` if the store cannot be used."""
        ...
