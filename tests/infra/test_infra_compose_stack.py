"""The compose stack without Docker: each service started with the command and the environment names that
docker-compose.yml gives it, on this machine's Postgres, RabbitMQ and S3, behind the real edge config in nginx.

A user's path through the edge: the web app, sign-in with the ADMIN_TOKEN that the migrate one-shot seeds, an
upload, the live events, the results, and the upload limits (the gateway's own 413 message for a slice between its
limit and the edge's, a volume over the slice limit let through, nginx's 413 above the edge's limit).

The volume limit (512 MiB in compose) and with it the edge's are scaled down here, in the same relation as
compose's (tests/infra/test_infra_compose.py checks that one), so that no test sends half a gigabyte.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from infra_support import REPO, nginx_binary, nginx_size, running_edge

from brainmets.networks import MODEL_NAMES
from tests.integration.processes import ServiceProcess
from tests.services.artifacts import make_tiny_artifacts
from tests.services.endpoints import Endpoints, delete_topology, free_port, local_endpoints, unreachable_reason
from tests.services.synthetic import upload_files
from tests.services.volumes import nifti_file

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (.ci/services.sh installs it)"),
]

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
VOLUME_LIMIT = 24 * 1024**2  # MAX_VOLUME_UPLOAD_BYTES, scaled down (see above)
EDGE_MAX_BODY = "25m"  # just above it, as compose's 513m is above 512 MiB


def default_of(value: str) -> str:
    """``${NAME:-default}`` -> ``default``."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    assert match, f"{value} has no default"
    return match.group(1)


def service_env(name: str, endpoints: Endpoints, artifacts: Path, port: int, admin_token: str) -> dict[str, str]:
    """The service's compose environment, with this machine's endpoints in place of the containers' names."""
    local = {
        **endpoints.env(),  # DATABASE_URL, AMQP_URL, AMQP_PREFIX, S3_* for this machine
        "ADMIN_TOKEN": admin_token,  # what the operator puts in .env
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "MAX_UPLOAD_BYTES": default_of(SERVICES[name]["environment"]["MAX_UPLOAD_BYTES"]),
        "MAX_VOLUME_UPLOAD_BYTES": str(VOLUME_LIMIT),
        "FORWARDED_ALLOW_IPS": default_of(SERVICES[name]["environment"]["FORWARDED_ALLOW_IPS"]),
        "S3_SECURE": "false",
    }
    env = {}
    for key, value in SERVICES[name]["environment"].items():
        env[key] = local.get(key, str(value))
        assert "${" not in env[key] or key in ("DEVICE",), f"{name}: {key} has no local value"
    if "DEVICE" in env:
        env["DEVICE"] = default_of(SERVICES[name]["environment"]["DEVICE"])
    # Not in compose: the image bakes ARTIFACTS_DIR in; AMQP_PREFIX and S3_REGION keep this run to itself.
    return {**env, "ARTIFACTS_DIR": str(artifacts), "AMQP_PREFIX": endpoints.amqp_prefix, "S3_REGION": "us-east-1"}


def compose_command(name: str) -> list[str]:
    command = list(SERVICES[name]["command"])
    assert command[:2] == ["python", "-m"]
    return command[2:]


@dataclass
class Stack:
    edge_port: int
    max_upload_bytes: int
    edge_max_body: str
    admin_token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    prefix = f"bminfra{uuid.uuid4().hex[:8]}"
    admin_token = secrets.token_urlsafe(32)
    logs = tmp_path_factory.mktemp("stack-logs")
    artifacts = make_tiny_artifacts(tmp_path_factory.mktemp("artifacts"))
    processes: list[ServiceProcess] = []
    try:
        with local_endpoints(prefix) as endpoints:
            # The one-shot first, as compose orders it: it must exit 0.
            migrate = ServiceProcess(
                "migrate",
                compose_command("migrate"),
                service_env("migrate", endpoints, artifacts, 0, admin_token),
                logs,
            )
            processes.append(migrate)
            assert migrate.process.wait(timeout=120) == 0, migrate.log()
            ports = {}
            for name in ("gateway", "results-api", "worker-unetpp", "worker-attention-unet"):
                ports[name] = free_port()
                env = service_env(name, endpoints, artifacts, ports[name], admin_token)
                assert "ADMIN_TOKEN" not in env, f"{name} needs no admin token; only the migrate one-shot"
                processes.append(ServiceProcess(name, compose_command(name), env, logs))
            for process in processes[1:]:
                if process.name.startswith("worker-"):
                    process.wait_for_log("consuming", timeout=120)
                else:
                    process.wait_http(f"http://127.0.0.1:{ports[process.name]}/healthz", timeout=120)
            variables = {
                "GATEWAY_UPSTREAM": f"127.0.0.1:{ports['gateway']}",
                "RESULTS_API_UPSTREAM": f"127.0.0.1:{ports['results-api']}",
                "EDGE_MAX_BODY": EDGE_MAX_BODY,
            }
            with running_edge(tmp_path_factory.mktemp("edge"), variables) as port:
                yield Stack(
                    port,
                    int(default_of(SERVICES["gateway"]["environment"]["MAX_UPLOAD_BYTES"])),
                    variables["EDGE_MAX_BODY"],
                    admin_token,
                )
            for process in reversed(processes):
                process.stop()
            delete_topology(endpoints.amqp_url, prefix, MODEL_NAMES)
    finally:
        for process in processes:
            process.stop()


def test_the_web_app_and_the_api_answer_through_the_edge(stack: Stack) -> None:
    page = httpx.get(f"{stack.url}/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    models = httpx.get(f"{stack.url}/api/models", timeout=10).json()["models"]
    assert {m["name"] for m in models} == set(MODEL_NAMES)
    assert httpx.get(f"{stack.url}/readyz", timeout=10).json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "store": "ok",
    }


def test_the_api_requires_a_token_and_the_seeded_admin_token_signs_in(stack: Stack) -> None:
    # Compose sets no AUTH_ENABLED: against servers, sign-in is on by default.
    assert httpx.get(f"{stack.url}/api/scans", timeout=10).status_code == 401
    assert httpx.post(f"{stack.url}/api/scans", files=upload_files(seed=4), timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert httpx.get(f"{stack.url}/api/scans", headers=wrong, timeout=10).status_code == 401
    me = httpx.get(f"{stack.url}/api/auth/me", headers=stack.auth, timeout=10).json()
    assert me == {"auth_required": True, "name": "admin", "role": "admin"}
    # The web app's sign-in: the token becomes a cookie that the browser sends with images and event streams.
    with httpx.Client(base_url=stack.url, timeout=10) as browser:
        signed_in = browser.post("/api/auth/session", json={"token": stack.admin_token})
        assert signed_in.status_code == 200 and "httponly" in signed_in.headers["set-cookie"].lower()
        assert browser.get("/api/scans").status_code == 200


def test_an_upload_through_the_edge_streams_events_until_both_models_are_done(stack: Stack) -> None:
    response = httpx.post(f"{stack.url}/api/scans", files=upload_files(seed=5), headers=stack.auth, timeout=30)
    assert response.status_code == 202, response.text
    scan_id = response.json()["id"]

    last = read_events_until_final(stack.edge_port, scan_id, stack.auth, timeout=120)

    assert last["status"] == "done"
    assert set(last["results"]) == set(MODEL_NAMES)
    scan = httpx.get(f"{stack.url}/api/scans/{scan_id}", headers=stack.auth, timeout=10).json()
    for model in MODEL_NAMES:
        result = scan["results"][model]
        assert result["status"] == "done" and result["model_version"] == "test-1"
        assert set(result["metrics"]) == {"dice", "iou", "precision", "recall", "f1"}
        mask = httpx.get(f"{stack.url}/api/scans/{scan_id}/masks/{model}", headers=stack.auth, timeout=10)
        assert mask.status_code == 200 and mask.headers["content-type"] == "image/png"
    listing = httpx.get(f"{stack.url}/api/scans", params={"limit": 5}, headers=stack.auth, timeout=10).json()
    assert scan_id in {item["id"] for item in listing["items"]}


def read_events_until_final(port: int, scan_id: str, auth: dict[str, str], timeout: float) -> dict[str, Any]:
    """Read the scan's Server-Sent Events through the edge until the scan is final; the last scan event."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", f"/api/scans/{scan_id}/events", headers={"Accept": "text/event-stream", **auth})
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    try:
        while time.monotonic() < deadline:
            line = response.fp.readline().decode()
            if not line:
                break
            if line.startswith("data: ") and line.strip() != "data: {}":
                events.append(json.loads(line[len("data: ") :]))
                if events[-1]["status"] in ("done", "failed"):
                    return events[-1]
    finally:
        connection.close()
    raise AssertionError(f"no final event within {timeout} s; got {[e['status'] for e in events]}")


def test_an_upload_over_the_gateway_limit_gets_the_gateway_message(stack: Stack) -> None:
    # Between the gateway's limit (plus its framing allowance) and the edge's: the edge passes it on.
    size = stack.max_upload_bytes + 256 * 1024
    assert size < nginx_size(stack.edge_max_body)
    files = {"image": ("big.png", os.urandom(size), "image/png")}
    response = httpx.post(f"{stack.url}/api/scans", files=files, headers=stack.auth, timeout=60)
    assert response.status_code == 413
    assert "over the limit" in response.json()["detail"]


def test_a_volume_over_the_slice_limit_passes_the_edge(stack: Stack) -> None:
    # 240 x 240 x 190 int16, uncompressed: 21.9 MB, over the slice limit and under the volume limit.
    data = np.random.default_rng(5).integers(0, 1000, (240, 240, 190), dtype=np.int16)
    volume = nifti_file(data, np.diag([1.0, 1.0, 1.0, 1.0]), gz=False)
    assert stack.max_upload_bytes < len(volume) < VOLUME_LIMIT
    files = {"image": ("study.nii", volume, "application/octet-stream")}
    response = httpx.post(
        f"{stack.url}/api/scans", files=files, data={"models": "unetpp"}, headers=stack.auth, timeout=120
    )
    assert response.status_code == 202, response.text
    scan = httpx.get(f"{stack.url}/api/scans/{response.json()['id']}", headers=stack.auth, timeout=10).json()
    assert scan["kind"] == "volume"


def test_an_upload_over_the_edge_limit_stops_at_the_edge(stack: Stack) -> None:
    size = nginx_size(stack.edge_max_body) + 1024
    files = {"image": ("huge.png", os.urandom(size), "image/png")}
    response = httpx.post(f"{stack.url}/api/scans", files=files, headers=stack.auth, timeout=60)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
