"""The CI dependency audit (.ci/audit.py): fails on a vulnerability, says so when it cannot run."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from packaging.version import Version
from pip_audit._format import JsonFormat
from pip_audit._service import ResolvedDependency, SkippedDependency, VulnerabilityResult

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"
_spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
assert _spec is not None and _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_service_is_reported_as_not_run_and_passes() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/pypi/pip/24.0/json"
    result = _run({"PATH": "/usr/bin:/bin", "PIP_AUDIT_PROBE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(audit.NOT_RUN)
    assert url in result.stdout and "unreachable" in result.stdout


def test_a_service_without_vulnerability_data_is_not_taken_for_a_clean_audit() -> None:
    with _json_server({"info": {}}) as url:  # an index mirror's answer: no "vulnerabilities" key
        assert audit.probe(url, None, "vulnerabilities") == f"{url} did not answer with vulnerability data"
    with _json_server({"info": {}, "vulnerabilities": []}) as url:
        assert audit.probe(url, None, "vulnerabilities") is None


def _report(results: dict[object, list[VulnerabilityResult]]) -> dict[str, object]:
    """A report in pip-audit's own JSON format, rendered by pip-audit's formatter."""
    return json.loads(JsonFormat(output_desc=False, output_aliases=True).format(results, []))


def test_every_vulnerability_found_is_listed_with_its_fix() -> None:
    vuln = VulnerabilityResult("PYSEC-2099-1", "remote code", [Version("2.0.1")], {"CVE-2099-0001"})
    report = _report(
        {
            ResolvedDependency("oldlib", Version("2.0.0")): [vuln],
            ResolvedDependency("fine", Version("1.0")): [],
            SkippedDependency("torch", "Dependency not found on PyPI"): [],
        }
    )
    found, audited, skipped = audit.summarize(report)
    assert found == ["oldlib 2.0.0: PYSEC-2099-1 (CVE-2099-0001); fixed in 2.0.1"]
    assert (audited, skipped) == (2, 1)


def test_nothing_audited_counts_as_not_run() -> None:
    report = _report({SkippedDependency(n, "Dependency not found on PyPI"): [] for n in ("numpy", "torch")})
    assert audit.summarize(report) == ([], 0, 2)


@contextlib.contextmanager
def _json_server(answer: dict[str, object]) -> Iterator[str]:
    """A local HTTP server that answers every GET with ``answer``; yields a PyPI-style JSON API URL."""
    body = json.dumps(answer).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/pypi/pip/24.0/json"
    finally:
        server.shutdown()
        server.server_close()
