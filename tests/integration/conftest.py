"""Real Postgres, RabbitMQ and S3 (local services or testcontainers), and the services as processes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from brainmets.db import AccountRole, make_engine, make_sessionmaker
from brainmets.db.migrate import upgrade
from brainmets.networks import MODEL_NAMES
from brainmets.storage import S3Store
from services.core.auth import issue_token
from tests.integration.processes import ServiceProcess
from tests.services.artifacts import make_tiny_artifacts
from tests.services.endpoints import (
    Endpoints,
    container_endpoints,
    delete_topology,
    docker_reachable,
    free_port,
    local_endpoints,
    unreachable_reason,
)

# Fast retries so that a poison job reaches the dead-letter queue within a second or two.
FAST_RETRIES = {"JOB_MAX_ATTEMPTS": "3", "RETRY_BASE_DELAY_S": "0.2", "RETRY_MAX_DELAY_S": "1", "LOG_LEVEL": "INFO"}
# The services run as in production: bearer tokens required.
PRODUCTION = {"AUTH_ENABLED": "true"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    prefix = f"bmtest{uuid.uuid4().hex[:10]}"
    if docker_reachable():
        context = container_endpoints(prefix)
    else:
        reason = unreachable_reason()
        if reason:
            pytest.skip(reason)
        context = local_endpoints(prefix)
    try:
        with context as found:
            upgrade(found.database_url, wait_s=10)
            yield found
    except RuntimeError as exc:
        pytest.skip(f"integration services unavailable: {exc}")


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_artifacts(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="session")
def slow_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A U-Net++ wide and large enough that one slice takes about a second: time to act mid-job."""
    import torch

    from brainmets.inference import ModelCard, save_artifact
    from brainmets.networks import build_model

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("slow-artifacts")
    network = {"widths": [16, 32, 64, 128]}
    card = ModelCard(
        name="unetpp", architecture="UNetPlusPlus", version="slow-1", network=network, input_size=(768, 768)
    )
    save_artifact(build_model("unetpp", **network), card, root / "unetpp")
    return root


@dataclass
class Stack:
    """Endpoints with their own queue prefix, plus the processes started on them."""

    endpoints: Endpoints
    log_dir: Path
    artifacts_dir: Path
    token: str = ""
    gateway_url: str = ""
    results_url: str = ""
    processes: list[ServiceProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.endpoints.env(),
            **FAST_RETRIES,
            **PRODUCTION,
            "ARTIFACTS_DIR": str(self.artifacts_dir),
            **self.extra_env,
        }

    def start_gateway(self, wait: bool = True) -> ServiceProcess:
        port = free_port()
        process = self._start("gateway", ["services.gateway", "--port", str(port), "--no-migrate"], {})
        self.gateway_url = f"http://127.0.0.1:{port}"
        if wait:
            process.wait_http(f"{self.gateway_url}/healthz")
        return process

    def start_results_api(self, wait: bool = True) -> ServiceProcess:
        port = free_port()
        process = self._start("results", ["services.results_api", "--port", str(port), "--no-migrate"], {})
        self.results_url = f"http://127.0.0.1:{port}"
        if wait:
            process.wait_http(f"{self.results_url}/healthz")
        return process

    def start(self, workers: dict[str, int], results_api: bool = True, artifacts_dir: Path | None = None) -> None:
        """Start the gateway, the results API and ``workers[model]`` workers at once, then wait for all."""
        gateway = self.start_gateway(wait=False)
        results = self.start_results_api(wait=False) if results_api else None
        started = [
            self.start_worker(model, artifacts_dir, wait=False) for model, n in workers.items() for _ in range(n)
        ]
        gateway.wait_http(f"{self.gateway_url}/healthz")
        if results is not None:
            results.wait_http(f"{self.results_url}/healthz")
        for worker in started:
            worker.wait_for_log("consuming")

    def workers(self) -> list[ServiceProcess]:
        return [p for p in self.processes if p.name.startswith("worker-")]

    def start_worker(
        self, model: str, artifacts_dir: Path | None = None, wait: bool = True, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        # Each worker its own metrics port: several run on this one machine.
        extra = {"MODEL_NAME": model, "METRICS_PORT": str(free_port()), **(env or {})}
        if artifacts_dir is not None:
            extra["ARTIFACTS_DIR"] = str(artifacts_dir)
        name = f"worker-{model}-{sum(p.name.startswith(f'worker-{model}') for p in self.processes)}"
        process = self._start(name, ["services.worker"], extra)
        if wait:
            process.wait_for_log("consuming")
        return process

    def _start(self, name: str, args: list[str], extra: dict[str, str]) -> ServiceProcess:
        process = ServiceProcess(name, args, {**self.env, **extra}, self.log_dir)
        self.processes.append(process)
        return process

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upload(self, files: dict, data: dict | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.gateway_url}/api/scans", files=files, data=data or {}, headers=self.headers, timeout=30
        )

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.results_url}{path}", headers=self.headers, timeout=30)

    def scan(self, scan_id: str) -> dict:
        return self.get(f"/api/scans/{scan_id}").json()

    def get_json(self, path: str) -> dict:
        return self.get(path).json()

    def sessions(self):
        return make_sessionmaker(make_engine(self.endpoints.database_url))

    def store(self) -> S3Store:
        e = self.endpoints
        return S3Store(e.s3_endpoint, e.s3_access_key, e.s3_secret_key, e.s3_bucket, region="us-east-1")

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture(scope="module")
def make_stack(
    endpoints: Endpoints, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Stack]]:
    """Stacks with a fresh queue prefix each, shared by a module's tests (starting processes is the slow part),
    stopped and their queues deleted after the module."""
    stacks: list[Stack] = []

    def make() -> Stack:
        prefix = f"{endpoints.amqp_prefix}-{uuid.uuid4().hex[:6]}"
        log_dir = tmp_path_factory.mktemp("logs")
        stack = Stack(dataclasses.replace(endpoints, amqp_prefix=prefix), log_dir, artifacts_dir)
        # Each stack signs in as its own admin account.
        with stack.sessions().begin() as session:
            stack.token = issue_token(session, f"tester-{prefix}", AccountRole.ADMIN.value)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop_all()
        delete_topology(stack.endpoints.amqp_url, stack.endpoints.amqp_prefix, MODEL_NAMES)
