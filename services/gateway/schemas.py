"""The gateway's response bodies."""

from __future__ import annotations

from pydantic import BaseModel


class ScanAccepted(BaseModel):
    id: str
    status: str
    models: list[str]
    links: dict[str, str]


class Problem(BaseModel):
    detail: str
