"""What a log line is about (request id, scan id, model), carried in context variables.

The gateway binds the request id for the life of a request; a worker binds the job's scan, model and request id
while it handles the job. The log formatter reads them, so every line written meanwhile, by any module, carries
them, and the worker's lines for a job join up with the upload's by ``request_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("request_id", "scan_id", "model")
_VARS: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}
# What a client may send as its own request id: short and plain, since it is echoed in headers and logs.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind ``fields`` (names from ``FIELDS``) for the lines logged inside the block; ``None`` values are skipped."""
    tokens = [(name, _VARS[name].set(value)) for name, value in fields.items() if value is not None]
    try:
        yield
    finally:
        for name, token in reversed(tokens):
            _VARS[name].reset(token)


def current(name: str) -> str | None:
    return _VARS[name].get()


def current_fields() -> dict[str, str]:
    """The bound fields, for a log record."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


def valid_request_id(value: str | None) -> bool:
    return value is not None and REQUEST_ID_PATTERN.match(value) is not None
