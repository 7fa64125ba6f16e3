"""Turn one job into one stored result: the same code under RabbitMQ and the in-process queue."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import numpy as np

from brainmets import telemetry
from brainmets.db.scans import claim_result, complete_result, fail_result, register_model_version
from brainmets.imaging.decode import decode_image, decode_mask
from brainmets.inference import Segmenter
from brainmets.messaging import JobMessage
from brainmets.metrics import overlap_metrics
from services.core.pngs import mask_png, unit_png
from services.core.runtime import Runtime
from services.worker.volume_job import process_volume

LOGGER = logging.getLogger(__name__)


class WrongModelError(ValueError):
    pass


def _seconds_since(moment: datetime) -> float:
    """Seconds from ``moment`` (the upload's commit; naive means UTC) to now."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - aware).total_seconds()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", text)[:100] or "unversioned"


class JobProcessor:
    """Implements ``JobHandler``: segment, store maps and metrics, commit, and only then report success."""

    def __init__(self, runtime: Runtime, segmenter: Segmenter) -> None:
        self.runtime = runtime
        self.segmenter = segmenter
        self.device = str(segmenter.device)

    @property
    def model(self) -> str:
        return self.segmenter.name

    def register(self) -> None:
        """Record this model version and its card, so the API can describe what is served."""
        card = self.segmenter.card.model_dump(mode="json")
        with self.runtime.sessions.begin() as session:
            register_model_version(session, self.model, self.segmenter.version, card)

    def handle(self, job: JobMessage, attempt: int) -> None:
        if job.model != self.model:
            raise WrongModelError(f"job for {job.model} reached the {self.model} worker")
        version = self.segmenter.version
        with self.runtime.sessions.begin() as session:
            result = claim_result(session, job.scan_id, job.model, version)
            result_id = None if result is None else result.id
        if result_id is None:
            LOGGER.info("job %s already has a final result (or no scan); skipping", job.message_id)
            return
        prefix = f"scans/{job.scan_id}/{job.model}/{_slug(version)}"
        if job.kind == "volume":
            ms = process_volume(self, job, result_id, prefix)
            # A volume counts as one job, its inference the whole stack of slices.
            telemetry.observe_inference(self.model, ms / 1000.0)
            self._count_done(job)
            return
        store = self.runtime.store
        image = decode_image(store.get(job.image_key), max_pixels=self.runtime.settings.MAX_PIXELS)
        prediction, ms = self.segmenter.timed_predict(image, with_attention=self.segmenter.has_attention)
        telemetry.observe_inference(self.model, ms / 1000.0)
        keys = {"mask_key": f"{prefix}/mask.png", "probability_key": f"{prefix}/probability.png"}
        store.put(keys["mask_key"], mask_png(prediction.mask), "image/png")
        store.put(keys["probability_key"], unit_png(prediction.probability), "image/png")
        if prediction.attention is not None:
            keys["attention_key"] = f"{prefix}/attention.png"
            store.put(keys["attention_key"], unit_png(prediction.attention), "image/png")
        metrics = None
        if job.ground_truth_key is not None:
            # The same rule as the gateway and training, whatever wrote the stored mask.
            truth = decode_mask(store.get(job.ground_truth_key), max_pixels=self.runtime.settings.MAX_PIXELS)
            metrics = {k: float(v) for k, v in overlap_metrics(prediction.mask, truth).items()}
        with self.runtime.sessions.begin() as session:
            complete_result(
                session,
                result_id,
                device=self.device,
                inference_ms=round(ms, 2),
                lesion_area_px=int(np.count_nonzero(prediction.mask)),
                metrics=metrics,
                **keys,
            )
        self._count_done(job)
        LOGGER.info("job %s done in %.0f ms on %s", job.message_id, ms, self.device)

    def _count_done(self, job: JobMessage) -> None:
        telemetry.count_job(self.model, "done")
        telemetry.observe_job_latency(self.model, _seconds_since(job.created_at))

    def give_up(self, job: JobMessage, reason: str) -> None:
        with self.runtime.sessions.begin() as session:
            fail_result(session, job.scan_id, job.model, self.segmenter.version, reason)
