"""One log format for every service."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
        force=True,
    )
    # pika logs every connection step at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)
