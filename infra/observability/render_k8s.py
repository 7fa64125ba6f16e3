"""Render the Kubernetes copies of the alert rules and the dashboard into infra/k8s/overlays/observability.

Kustomize loads no file from outside its folder, so the overlay holds copies: a PrometheusRule with the groups
of prometheus/alerts.yml and a ConfigMap with grafana/dashboards/brainmets.json. Run after editing either:

    python infra/observability/render_k8s.py

tests/infra/test_infra_observability.py fails while a copy differs from what this renders.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OVERLAY = HERE.parents[1] / "infra" / "k8s" / "overlays" / "observability"
HEADER = "# Rendered by infra/observability/render_k8s.py from {source}; edit that file, then rerun it.\n"
LABELS = {"app.kubernetes.io/part-of": "brainmets"}


class _Literal(str):
    """A string YAML writes as a block, so the rules and the dashboard stay readable in the copies."""


def _literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def _blocks(node: object) -> object:
    """Multi-line strings as YAML blocks."""
    if isinstance(node, dict):
        return {key: _blocks(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_blocks(value) for value in node]
    if isinstance(node, str) and "\n" in node:
        return _Literal(node)
    return node


def prometheus_rule() -> str:
    rules = yaml.safe_load((HERE / "prometheus" / "alerts.yml").read_text())
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "brainmets", "labels": LABELS},
        "spec": {"groups": rules["groups"]},
    }
    body = yaml.safe_dump(_blocks(manifest), sort_keys=False, width=120)
    return HEADER.format(source="infra/observability/prometheus/alerts.yml") + body


def dashboard_config_map() -> str:
    dashboard = (HERE / "grafana" / "dashboards" / "brainmets.json").read_text()
    json.loads(dashboard)  # refuse to render a broken dashboard
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "brainmets-dashboard", "labels": {**LABELS, "grafana_dashboard": "1"}},
        "data": {"brainmets.json": _Literal(dashboard)},
    }
    body = yaml.safe_dump(manifest, sort_keys=False, width=120)
    return HEADER.format(source="infra/observability/grafana/dashboards/brainmets.json") + body


RENDERED = {"prometheus-rule.yaml": prometheus_rule, "grafana-dashboard.yaml": dashboard_config_map}


def main() -> None:
    for name, render in RENDERED.items():
        (OVERLAY / name).write_text(render())


if __name__ == "__main__":
    main()
