"""The edge proxy's config, run in a real nginx in front of two stand-in backends on loopback: POST /api/scans
reaches the gateway, everything else the results API, events stream unbuffered, big bodies stop at the edge."""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from infra_support import nginx_binary, running_edge

EDGE_MAX_BODY = "64k"
# The stand-in results API sends one event, waits this long, then a second one.
EVENT_GAP_S = 1.5

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (.ci/services.sh installs it)")


@dataclass
class Backend:
    name: str
    seen: list[dict[str, object]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"


def start_backend(backend: Backend) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = {
                "method": self.command,
                "path": self.path,
                "body_len": len(body),
                "forwarded_for": self.headers.get("X-Forwarded-For"),
            }
            backend.seen.append(request)
            if self.path.endswith("/events"):
                self._events()
                return
            payload = json.dumps({"backend": backend.name, **request}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(b"data: first\n\n")
            self.wfile.flush()
            time.sleep(EVENT_GAP_S)
            self.wfile.write(b"data: second\n\n")
            self.wfile.flush()
            self.close_connection = True

        do_GET = do_POST = do_PUT = _answer  # noqa: N815 (the stdlib's names)

        def log_message(self, *args: object) -> None:
            pass

    backend.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=backend.server.serve_forever, daemon=True).start()


@dataclass
class Edge:
    port: int
    gateway: Backend
    results_api: Backend

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, object] | bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Content-Type", "").startswith("application/json"):
                return response.status, json.loads(data)
            return response.status, data
        finally:
            connection.close()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    gateway, results_api = Backend("gateway"), Backend("results_api")
    start_backend(gateway)
    start_backend(results_api)
    variables = {
        "GATEWAY_UPSTREAM": gateway.address,
        "RESULTS_API_UPSTREAM": results_api.address,
        "EDGE_MAX_BODY": EDGE_MAX_BODY,
    }
    try:
        with running_edge(tmp_path_factory.mktemp("edge"), variables) as port:
            yield Edge(port, gateway, results_api)
    finally:
        for backend in (gateway, results_api):
            if backend.server:
                backend.server.shutdown()
                backend.server.server_close()


def test_edge_answers_its_own_health_check(edge: Edge) -> None:
    assert edge.request("GET", "/edge-healthz") == (200, b"ok\n")


def test_an_upload_goes_to_the_gateway(edge: Edge) -> None:
    status, answer = edge.request("POST", "/api/scans", body=b"x" * 1000)
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["backend"] == "gateway" and answer["body_len"] == 1000
    assert answer["forwarded_for"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/scans"),
        ("GET", "/api/scans?limit=5&offset=10"),
        ("GET", "/api/scans/abc123"),
        ("GET", "/api/scans/abc123/masks/unetpp"),
        ("GET", "/api/models"),
        ("GET", "/"),
        ("GET", "/js/app.js"),
        ("GET", "/healthz"),
        ("POST", "/api/scans/abc123"),
    ],
)
def test_everything_else_goes_to_the_results_api(edge: Edge, method: str, path: str) -> None:
    status, answer = edge.request(method, path, body=b"" if method == "POST" else None)
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["backend"] == "results_api" and answer["path"] == path


@pytest.mark.parametrize("path", ["/metrics", "/metrics?name=x"])
def test_metrics_stay_inside_the_cluster(edge: Edge, path: str) -> None:
    before = len(edge.results_api.seen)
    status, _ = edge.request("GET", path)
    assert status == 404
    assert len(edge.results_api.seen) == before


def test_a_body_over_the_edge_limit_stops_at_the_edge(edge: Edge) -> None:
    before = len(edge.gateway.seen)
    status, _ = edge.request("POST", "/api/scans", body=b"x" * (64 * 1024 + 1))
    assert status == 413
    assert len(edge.gateway.seen) == before
    status, answer = edge.request("POST", "/api/scans", body=b"x" * (64 * 1024))
    assert status == 200 and isinstance(answer, dict)
    assert answer["backend"] == "gateway" and answer["body_len"] == 64 * 1024


def test_events_reach_the_browser_as_they_happen(edge: Edge) -> None:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(b"GET /api/scans/abc123/events HTTP/1.1\r\nHost: edge\r\nAccept: text/event-stream\r\n\r\n")
        started = time.monotonic()
        received = b""
        while b"data: first" not in received:
            chunk = sock.recv(4096)
            assert chunk, "the stream closed before the first event"
            received += chunk
        first_after = time.monotonic() - started
        while b"data: second" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    # Buffered, the first event would wait for the second one (EVENT_GAP_S later) or for the stream's end.
    assert first_after < EVENT_GAP_S / 2, f"first event after {first_after:.2f} s"
    assert b"text/event-stream" in received and b"data: second" in received
