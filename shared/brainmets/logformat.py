"""One log format for every service and the migration job: JSON, one event a line (``LOG_FORMAT=text`` for
a human at a terminal).

Each line carries the time (UTC, ISO 8601), level, logger, thread and message, and, where one applies, the
``request_id``, ``scan_id`` and ``model`` bound by ``brainmets.logcontext``: the gateway's line for an upload
and a worker's line for its job share the request id.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from brainmets.logcontext import current_fields

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class ContextFields(logging.Filter):
    """Copies the bound request id, scan id and model onto each record (explicit ``extra`` values win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_fields().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        ["levelname", "name", "threadName", "message"],
        style="%",
        rename_fields={"levelname": "level", "name": "logger", "threadName": "thread"},
        timestamp="time",
        # uvicorn attaches an ANSI-coloured copy of some messages; the plain one is enough.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFields())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Python's warnings become log events too, so that every line on stderr is one.
    logging.captureWarnings(True)
    # pika logs every connection step at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)
