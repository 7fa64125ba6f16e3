"""Fixtures for the deployment checks: the repository's files, parsed and rendered, with no Docker engine."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from infra_support import K8S, OVERLAYS, REPO
from kustomize_render import render


@pytest.fixture(scope="session")
def compose_raw() -> dict[str, Any]:
    """docker-compose.yml as written (YAML anchors and merge keys resolved, variables not)."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """The manifests of the base and of each overlay, rendered by ``kubectl kustomize``."""
    return {name: render(K8S / ("base" if name == "base" else f"overlays/{name}")) for name in ("base", *OVERLAYS)}
