"""Prometheus metrics the services export (operational telemetry; segmentation quality is ``brainmets.metrics``).

Every metric lives in prometheus-client's default registry, once per process: in the embedded mode the gateway,
the relay and both worker threads share them, and per-model series are told apart by the ``model`` label, so
nothing is counted twice. Label values are bounded: model names from the catalog (anything else is ``other``),
fixed outcome and kind words, HTTP methods, status codes and route templates; never scan ids, users or raw paths.

Nothing here forks. Where a deployment runs several processes behind one port (e.g. uvicorn ``--workers``), set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder before the processes start: prometheus-client then writes the
samples to files there and ``exposition`` merges every process's files (gauges by the mode declared below).
"""

from __future__ import annotations

import logging
import os
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

from brainmets.catalog import MODEL_NAMES

LOGGER = logging.getLogger(__name__)

# Job outcomes: ``done`` (result committed), ``retried`` (an attempt failed, the job comes back later),
# ``failed`` (given up: the result is marked failed) and ``dead_lettered`` (the message went to the model's
# dead-letter queue: after ``failed``, or unreadable). A job given up so counts once as failed and once as
# dead-lettered; the failure ratio is failed / (done + failed).
OUTCOMES = ("done", "retried", "failed", "dead_lettered")
SCAN_KINDS = ("slice", "volume")
OTHER = "other"

SCANS = Counter("brainmets_scans", "Uploads accepted (scan rows committed), by kind.", ["kind"])
UPLOAD_REJECTIONS = Counter(
    "brainmets_upload_rejections", "Uploads refused with a 4xx status, by status code.", ["status"]
)
JOBS = Counter(
    "brainmets_jobs",
    "Job deliveries by model and outcome (done, retried, failed, dead_lettered).",
    ["model", "outcome"],
)
INFERENCE_SECONDS = Histogram(
    "brainmets_inference_seconds",
    "Per job: the network's forward pass with pre- and post-processing, in seconds (a volume: all its slices).",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
JOB_LATENCY = Histogram(
    "brainmets_job_latency_seconds",
    "From the upload's commit to the result's commit, per job done, in seconds.",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
OUTBOX_PENDING = Gauge(
    "brainmets_outbox_pending", "Outbox rows not yet published to the broker.", multiprocess_mode="max"
)
WORKER_CONNECTED = Gauge(
    "brainmets_worker_connected",
    "1 while the model's consumer is attached to its queue, 0 while it reconnects or stops.",
    ["model"],
    multiprocess_mode="livemax",
)
HTTP_REQUESTS = Counter(
    "brainmets_http_requests", "HTTP requests by method, route template and status.", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "brainmets_http_request_duration_seconds",
    "HTTP request duration by method and route template, in seconds.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)


def model_label(model: str) -> str:
    """A model name as a label value: one of the catalog's, else ``other`` (a stray message names anything)."""
    return model if model in MODEL_NAMES else OTHER


def count_scan(kind: str = "slice") -> None:
    SCANS.labels(kind if kind in SCAN_KINDS else OTHER).inc()


def count_rejection(status: int) -> None:
    UPLOAD_REJECTIONS.labels(str(status)).inc()


def count_job(model: str, outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown job outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    JOBS.labels(model_label(model), outcome).inc()


def observe_inference(model: str, seconds: float) -> None:
    INFERENCE_SECONDS.labels(model_label(model)).observe(seconds)


def observe_job_latency(model: str, seconds: float) -> None:
    JOB_LATENCY.labels(model_label(model)).observe(max(0.0, seconds))


def set_worker_connected(model: str, connected: bool) -> None:
    WORKER_CONNECTED.labels(model_label(model)).set(1.0 if connected else 0.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition_registry() -> CollectorRegistry:
    """The default registry, or one that merges every process's files in multiprocess mode."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    return generate_latest(exposition_registry()), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, host: str) -> tuple[WSGIServer, threading.Thread] | None:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread (workers serve no HTTP otherwise).

    A port that cannot be bound is logged, not fatal: the worker keeps doing its jobs, and Prometheus shows the
    target down. ``port`` 0 turns the server off.
    """
    if port == 0:
        return None
    try:
        server, thread = start_http_server(port, addr=host, registry=exposition_registry())
    except OSError as exc:
        LOGGER.error("metrics port %s:%d cannot be bound (%s); serving no metrics", host, port, exc)
        return None
    LOGGER.info("metrics on http://%s:%d/metrics", host, port)
    return server, thread
