"""Load a model and run its consumer: as a process (``__main__``) or a thread (embedded mode)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from brainmets.inference import Segmenter, find_artifacts
from brainmets.messaging import JobHandler
from brainmets.messaging.rabbitmq import RabbitConsumer
from services.core.runtime import Runtime
from services.worker.processor import JobProcessor

LOGGER = logging.getLogger(__name__)


class MissingArtifactError(RuntimeError):
    """No artifact for the model, or one this code cannot load."""


def artifact_folder(artifacts_dir: Path | None, model: str) -> Path:
    """The model's artifact folder, or an error that says where it was looked for and how to make one."""
    found = find_artifacts(artifacts_dir, [model])
    if model not in found:
        where = artifacts_dir or Path("training/artifacts")
        raise MissingArtifactError(
            f"no trained {model} model under {where}/ (expected {where}/{model}/weights.safetensors and "
            f"model_card.json). Train it with `make train MODEL={model}` (see the README; it writes "
            f"runs/cpu/{model}/) and set ARTIFACTS_DIR=runs/cpu, or set ARTIFACTS_DIR to a folder that holds it."
        )
    return found[model]


def load_processor(runtime: Runtime, model: str) -> JobProcessor:
    folder = artifact_folder(runtime.settings.ARTIFACTS_DIR, model)
    try:
        segmenter = Segmenter.load(folder, device=runtime.settings.DEVICE)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc.__class__.__name__
        raise MissingArtifactError(
            f"the {model} model in {folder}/ cannot be loaded by this version of the code ({reason}). "
            f"Retrain it with `make train MODEL={model}`, or set ARTIFACTS_DIR to a matching artifact."
        ) from exc
    LOGGER.info("loaded %s %s from %s on %s", model, segmenter.version, folder, segmenter.device)
    return JobProcessor(runtime, segmenter)


def register_when_ready(processor: JobProcessor, timeout_s: float = 120.0) -> None:
    """Register the model version, waiting for the database and its schema (the gateway migrates it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            processor.register()
            return
        except SQLAlchemyError as exc:
            if time.monotonic() > deadline:
                raise
            LOGGER.info("waiting for the database schema: %s", exc.__class__.__name__)
            time.sleep(1.0)


def rabbit_consumer(runtime: Runtime, model: str) -> RabbitConsumer:
    if not runtime.settings.AMQP_URL:
        raise RuntimeError("a stand-alone worker needs AMQP_URL; use `make run` for the all-in-one mode")
    return RabbitConsumer(runtime.settings.AMQP_URL, runtime.topology, model, runtime.retry_policy)


class Consumer(Protocol):
    """What both brokers' consumers offer (``RabbitConsumer``, ``InProcessConsumer``)."""

    def run(self, handler: JobHandler) -> None: ...

    def stop(self) -> None: ...


class WorkerThread:
    """A worker inside another process (embedded mode, tests): start/stop like the outbox relay."""

    def __init__(self, processor: JobProcessor, consumer: Consumer) -> None:
        self.processor = processor
        self.consumer = consumer
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.consumer.run,
            args=(self.processor,),
            name=f"worker-{self.processor.model}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.consumer.stop()
        if self._thread is not None:
            self._thread.join(timeout=60)
