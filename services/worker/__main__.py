"""``python -m services.worker --model unetpp`` (or ``MODEL_NAME``): consume that model's queue.

SIGTERM or SIGINT finishes the job in hand, acknowledges it, then exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from brainmets import telemetry
from brainmets.catalog import MODEL_NAMES
from brainmets.config import get_settings
from services.core.logging import configure_logging
from services.core.runtime import build_runtime
from services.worker.runner import MissingArtifactError, load_processor, rabbit_consumer, register_when_ready

LOGGER = logging.getLogger("services.worker")


def main() -> None:
    parser = argparse.ArgumentParser(description="BrainMets model worker")
    parser.add_argument("--model", choices=MODEL_NAMES, default=None, help="default: MODEL_NAME")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    model = args.model or settings.MODEL_NAME
    if model not in MODEL_NAMES:
        sys.exit(f"choose the model with --model or MODEL_NAME: one of {', '.join(MODEL_NAMES)}")
    runtime = build_runtime(settings)
    try:
        processor = load_processor(runtime, model)
    except MissingArtifactError as exc:
        sys.exit(str(exc))
    consumer = rabbit_consumer(runtime, model)
    telemetry.set_worker_connected(model, False)
    telemetry.start_metrics_server(settings.METRICS_PORT, settings.HOST)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: consumer.stop())
    register_when_ready(processor)
    consumer.run(processor)
    runtime.close()
    LOGGER.info("worker for %s stopped", model)


if __name__ == "__main__":
    main()
