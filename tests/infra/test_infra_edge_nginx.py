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
from infra_support import free_port, nginx_binary, running_edge

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


@dataclass
class AppBehindEdge:
    port: int
    token: str


@pytest.fixture(scope="module")
def app_behind_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppBehindEdge]:
    """The real services' app (gateway and results API routers, auth on), served by uvicorn as ``serve`` does,
    with this edge config in front of it for both upstreams."""
    import uvicorn

    from brainmets.config import Settings
    from brainmets.db import AccountRole
    from brainmets.db.migrate import upgrade
    from services.core.app import create_app
    from services.core.auth import issue_token
    from services.core.runtime import build_runtime
    from services.core.serve import uvicorn_config
    from services.gateway.routes import router as gateway_router
    from services.results_api.routes import router as results_router

    work = tmp_path_factory.mktemp("edge-app")
    settings = Settings(VAR_DIR=work / "var", WEB_DIR=work, AUTH_ENABLED=True, FORWARDED_ALLOW_IPS="127.0.0.1")
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    with runtime.sessions.begin() as session:
        token = issue_token(session, "alice", AccountRole.USER.value)
    app = create_app(runtime, [gateway_router, results_router], title="behind the edge")
    server = uvicorn.Server(uvicorn_config(app, settings.model_copy(update={"LOG_LEVEL": "WARNING"}), free_port()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    upstream = f"127.0.0.1:{server.config.port}"
    variables = {"GATEWAY_UPSTREAM": upstream, "RESULTS_API_UPSTREAM": upstream, "EDGE_MAX_BODY": "2m"}
    (work / "nginx").mkdir()
    try:
        with running_edge(work / "nginx", variables) as port:
            yield AppBehindEdge(port, token)
    finally:
        server.should_exit = True
        thread.join(15)


def _sign_in_through(edge: AppBehindEdge, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    body = json.dumps({"token": edge.token})
    connection.request("POST", "/api/auth/session", body=body, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_session_cookie_is_secure_behind_tls_termination(app_behind_edge: AppBehindEdge) -> None:
    # What a TLS terminator in front of the edge (the Ingress, a load balancer) adds to the request it passes on.
    behind_tls = _sign_in_through(app_behind_edge, {"X-Forwarded-Proto": "https"})
    assert behind_tls.status == 200
    cookie = behind_tls.getheader("Set-Cookie", "").lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    plain = _sign_in_through(app_behind_edge, {})
    assert plain.status == 200
    assert "secure" not in plain.getheader("Set-Cookie", "").lower()  # plain http: a Secure cookie would be lost


def test_the_apps_own_pages_may_write_through_the_edge_and_other_sites_may_not(app_behind_edge: AppBehindEdge) -> None:
    signed_in = _sign_in_through(app_behind_edge, {})
    cookie = signed_in.getheader("Set-Cookie", "").split(";", 1)[0]

    def sign_out(origin: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", app_behind_edge.port, timeout=10)
        connection.request("DELETE", "/api/auth/session", headers={"Cookie": cookie, "Origin": origin})
        status = connection.getresponse().status
        connection.close()
        return status

    # nginx passes the host name without the port (Host: $host); the browser's Origin has the edge's port.
    assert sign_out("https://evil.example") == 403
    assert sign_out(f"http://127.0.0.1:{app_behind_edge.port}") == 204


def test_compose_and_kubernetes_let_the_services_believe_the_edge(compose_raw, rendered) -> None:
    """Without FORWARDED_ALLOW_IPS uvicorn believes 127.0.0.1 only, and the edge is never that in either."""
    for service in ("gateway", "results-api"):
        assert compose_raw["services"][service]["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-*}"
    for overlay in ("cpu", "gpu"):
        config = next(
            m for m in rendered[overlay] if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "brainmets-config"
        )
        assert config["data"]["FORWARDED_ALLOW_IPS"] == "*", overlay
