"""The job message (JSON body) and the names of the exchanges and queues it travels through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class JobMessage(BaseModel):
    """Segment one scan with one model. Everything a worker needs to find its inputs."""

    schema_version: int = SCHEMA_VERSION
    scan_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    model: str
    image_key: str
    ground_truth_key: str | None = None
    width: int
    height: int
    created_at: datetime
    # The upload's request id, so the worker's log lines join up with the gateway's; absent from older jobs.
    request_id: str | None = Field(default=None, max_length=64)
    # "volume": image_key (and ground_truth_key) are NIfTI volumes, one job segments every slice.
    kind: Literal["slice", "volume"] = "slice"
    # Volumes from DICOM: the de-identified series, which the worker's DICOM SEG references.
    series_key: str | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> JobMessage:
        return cls.model_validate_json(body)

    @property
    def message_id(self) -> str:
        return f"{self.scan_id}:{self.model}"


@dataclass(frozen=True)
class Topology:
    """Exchange and queue names under one prefix (tests use a unique prefix per run so runs never collide).

    Jobs go to the direct exchange ``<prefix>.jobs`` with the model name as routing key, into the durable
    queue ``<prefix>.<model>``. A rejected job dead-letters through ``<prefix>.dlx`` into
    ``<prefix>.<model>.dead``. A job to retry waits in ``<prefix>.<model>.retry`` for its per-message TTL,
    then dead-letters back into the jobs exchange.
    """

    prefix: str = "brainmets"

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.jobs"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    def queue(self, model: str) -> str:
        return f"{self.prefix}.{model}"

    def dead_letter_queue(self, model: str) -> str:
        return f"{self.prefix}.{model}.dead"

    def retry_queue(self, model: str) -> str:
        return f"{self.prefix}.{model}.retry"
