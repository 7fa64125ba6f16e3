"""Helpers for the deployment checks: paths, commands, and docker-compose run with no Docker engine."""

from __future__ import annotations

import functools
import http.client
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "infra" / "k8s"
OVERLAYS = ("cpu", "gpu")
# Placeholders for the variables compose requires, so `config` can render the files.
COMPOSE_SECRETS = {
    "POSTGRES_PASSWORD": "pg-test",
    "RABBITMQ_PASSWORD": "mq-test",
    "MINIO_ROOT_PASSWORD": "s3-test-pw",
    "ADMIN_TOKEN": "admin-token-for-the-compose-tests",
}

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def module_of(command: list[str]) -> str | None:
    """``python -m X ...`` -> ``X``; None for commands that are not our Python modules."""
    if len(command) >= 3 and command[0] in ("python", "python3") and command[1] == "-m":
        return command[2]
    return None


def runnable_module(name: str) -> bool:
    """True when ``python -m name`` would find code: a module, or a package with a ``__main__``."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is None:
            return False
        if spec.submodule_search_locations is not None:
            return importlib.util.find_spec(f"{name}.__main__") is not None
        return True
    except ModuleNotFoundError:
        return False


@functools.cache
def help_text(module: str) -> str:
    """What ``python -m module --help`` prints: the options the command line may use."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=180, cwd=REPO
    )
    assert result.returncode == 0, f"`python -m {module} --help` failed: {result.stderr[-2000:]}"
    return result.stdout


def assert_command_exists(command: list[str]) -> None:
    """The command runs one of our modules, and every option it passes is one that module accepts."""
    module = module_of(command)
    assert module is not None, f"not a `python -m` command: {command}"
    assert runnable_module(module), f"`python -m {module}` finds no code"
    text = help_text(module)
    for option in (arg.split("=", 1)[0] for arg in command[3:] if arg.startswith("--")):
        assert re.search(rf"(^|\s){re.escape(option)}\b", text), f"`python -m {module}` has no option {option}"


def docker_compose() -> list[str] | None:
    """Debian's docker-compose (v1, validates against the Compose specification with no engine)."""
    return ["docker-compose"] if shutil.which("docker-compose") else None


def compose_config(
    *files: str, env: dict[str, str] | None = None, env_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` on ``files``; variables from ``env`` and ``env_file`` only, never a local .env."""
    command = docker_compose()
    if command is None:
        pytest.skip("docker-compose is not installed (.ci/services.sh installs it from Debian)")
    # Debian's docker-compose runs on the system Python: keep this virtual environment's variables away from it.
    ignored = {*COMPOSE_SECRETS, "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    base_env = {k: v for k, v in os.environ.items() if k not in ignored}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.env"
        empty.write_text("")
        args = [*command, "--project-directory", str(REPO), "--env-file", str(env_file or empty)]
        for name in files:
            args += ["-f", str(REPO / name)]
        return subprocess.run(
            [*args, "config"], capture_output=True, text=True, timeout=60, env={**base_env, **(env or {})}, cwd=REPO
        )


def nginx_size(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    value = value.strip().lower()
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


# The gateway's upload limits (slices, volumes): it takes a body up to the larger one.
UPLOAD_LIMITS = ("MAX_UPLOAD_BYTES", "MAX_VOLUME_UPLOAD_BYTES")


def assert_edge_limit_fits(gateway_bytes: int, edge_value: str) -> None:
    """The gateway allows its limit plus 64 KiB of multipart framing; the edge must let that through."""
    edge = nginx_size(edge_value)
    assert gateway_bytes + 64 * 1024 < edge <= gateway_bytes + 4 * 1024**2


NGINX_TEMPLATE = REPO / "infra" / "nginx" / "default.conf.template"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_nginx_template(variables: dict[str, str], port: int) -> str:
    """What the nginx image's entrypoint does (envsubst of the variables it is given), on a free port."""
    text = NGINX_TEMPLATE.read_text()
    for name, value in variables.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, "a template variable was left unset"
    assert "listen 8080;" in text
    return text.replace("listen 8080;", f"listen 127.0.0.1:{port};")


@contextmanager
def running_edge(work: Path, variables: dict[str, str]) -> Iterator[int]:
    """Run infra/nginx's config in this machine's nginx, in the foreground, until the block ends; yields its port."""
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/services.sh installs it)")
    port = free_port()
    (work / "default.conf").write_text(render_nginx_template(variables, port))
    temp_paths = "\n".join(
        f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx would drop its workers to "nobody", who cannot write this test's folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log off;\n{temp_paths}\n    include {work / 'default.conf'};\n}}\n"
    )
    args = [nginx, "-p", str(work), "-c", str(work / "nginx.conf")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not _answers(port, "/edge-healthz"):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
