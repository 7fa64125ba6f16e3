"""The services' log set-up; it lives in ``brainmets.logformat`` so that the migration job shares it."""

from __future__ import annotations

from brainmets.logformat import configure_logging

__all__ = ["configure_logging"]
