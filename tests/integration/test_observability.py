"""Observability on the real stack: a worker's metrics port, the gateway's /metrics, and JSON log lines that
join an upload to its jobs by request id."""

from __future__ import annotations

import json

import httpx
import pytest

from brainmets.networks import MODEL_NAMES
from tests.services.polling import wait_final, wait_for
from tests.services.synthetic import upload_files
from tests.services.telemetry_support import Samples, parse, value


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack()
    stack.start(dict.fromkeys(MODEL_NAMES, 1))
    return stack


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def counted_done(url: str, model: str, before: Samples) -> Samples | None:
    """The scrape once it counts one more done job for ``model`` than ``before``, else None."""
    now = scrape(url)
    done = "brainmets_jobs_total"
    more = value(now, done, model=model, outcome="done") > value(before, done, model=model, outcome="done")
    return now if more else None


def json_lines(log: str) -> list[dict]:
    """Every line a service wrote, each one JSON (uvicorn's and pika's too)."""
    return [json.loads(line) for line in log.splitlines() if line.strip()]


def test_a_workers_metrics_port_counts_its_jobs_and_the_gateway_counts_the_upload(stack) -> None:
    workers = {w.name.split("-")[1]: w for w in stack.workers()}
    urls = {model: f"http://127.0.0.1:{w.env['METRICS_PORT']}/metrics" for model, w in workers.items()}
    before = {model: scrape(url) for model, url in urls.items()}
    gateway_before = scrape(f"{stack.gateway_url}/metrics")
    for model in MODEL_NAMES:
        assert value(before[model], "brainmets_worker_connected", model=model) == 1

    headers = {**stack.headers, "X-Request-ID": "it-req-51"}
    response = httpx.post(f"{stack.gateway_url}/api/scans", files=upload_files(seed=51), headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    assert response.headers["x-request-id"] == "it-req-51"
    scan_id = response.json()["id"]
    assert wait_final(stack.get_json, scan_id, timeout=60)["status"] == "done"

    for model, url in urls.items():
        after = wait_for(lambda url=url, model=model: counted_done(url, model, before[model]), timeout=10,
                         what=f"{model}'s done job on its metrics port")  # fmt: skip
        assert value(after, "brainmets_inference_seconds_count", model=model) >= 1
        assert value(after, "brainmets_job_latency_seconds_count", model=model) >= 1
        # One process, one model: no other model's series.
        others = {dict(labels).get("model") for (_name, labels) in after} - {None, model}
        assert not others, others
    gateway_after = scrape(f"{stack.gateway_url}/metrics")
    assert (
        value(gateway_after, "brainmets_scans_total", kind="slice")
        - value(gateway_before, "brainmets_scans_total", kind="slice")
        == 1
    )
    assert value(gateway_after, "brainmets_outbox_pending") == 0
    assert scan_id not in httpx.get(f"{stack.results_url}/metrics", timeout=10).text

    # The upload's line in the gateway's log and each worker's line for its job share the request id.
    gateway = next(p for p in stack.processes if p.name == "gateway")
    accepted = [e for e in json_lines(gateway.log()) if e.get("scan_id") == scan_id]
    assert any("accepted" in e["message"] and e["request_id"] == "it-req-51" for e in accepted), accepted
    for model, worker in workers.items():
        mine = [e for e in json_lines(worker.log()) if e.get("scan_id") == scan_id]
        done = [e for e in mine if " done in " in e["message"]]
        assert done, mine
        assert all(e["request_id"] == "it-req-51" and e["model"] == model for e in done)
