"""The interface both object stores implement."""

from __future__ import annotations

import re
from typing import Protocol

from brainmets.source import Source as Payload  # what ``put`` stores: bytes, or a file read from its start

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


class ObjectStore(Protocol):
    def put(self, key: str, data: Payload, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def ping(self) -> None:
        """Raise ``StorageError`` if the store cannot be used."""
        ...
