"""Prometheus, the alert rules and the Grafana dashboard: valid for promtool, wired to the compose services and
the Kubernetes pods, and naming only metrics that the code exports (or that RabbitMQ's plugin exports)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_support import K8S, OVERLAYS, REPO
from kustomize_render import render
from prometheus_client.metrics import MetricWrapperBase

from brainmets import telemetry
from brainmets.config import Settings

OBSERVABILITY = REPO / "infra" / "observability"
PROMETHEUS_DIR = OBSERVABILITY / "prometheus"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "brainmets.json"
DATASOURCES = OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
OVERLAY = K8S / "overlays" / "observability"
# What RabbitMQ's Prometheus plugin exports on /metrics/detailed for the families prometheus.yml asks for.
RABBITMQ_FAMILIES = {
    "queue_coarse_metrics": {
        "rabbitmq_detailed_queue_messages",
        "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_messages_unacked",
    },
    "queue_consumer_count": {"rabbitmq_detailed_queue_consumers"},
}
PROMETHEUS_OWN = {"up"}
# PodMonitor fields from the Prometheus Operator's API reference (monitoring.coreos.com/v1): a typo fails here.
POD_MONITOR_FIELDS = {"selector", "podMetricsEndpoints", "jobLabel", "namespaceSelector", "podTargetLabels"}
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout", "scheme", "params", "honorLabels", "relabelings"}
RULE_FIELDS = {"alert", "record", "expr", "for", "labels", "annotations"}
METRIC_NAME = re.compile(r"\b((?:brainmets|rabbitmq)_[a-z0-9_]+|up)\b(?!\s*\()")
# Grafana's variables, as Prometheus would see them once Grafana substitutes them.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian's prometheus package ships it; .ci/services.sh installs it)")
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def exported_sample_names() -> set[str]:
    """Every sample name the code's metrics can produce (a counter ``x``: ``x_total``; a histogram: buckets...)."""
    names: set[str] = set()
    for metric in vars(telemetry).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        for family in metric.describe():
            if family.type == "counter":
                names |= {f"{family.name}_total", f"{family.name}_created"}
            elif family.type == "histogram":
                names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
            else:
                names.add(family.name)
    return names


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_queries() -> dict[str, list[str]]:
    return {panel["title"]: [t["expr"] for t in panel["targets"]] for panel in dashboard()["panels"]}


def rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def names_in(expr: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values and regexes are not names
    return set(METRIC_NAME.findall(without_strings))


def test_the_code_exports_the_metrics_operators_rely_on() -> None:
    assert {
        "brainmets_scans_total",
        "brainmets_upload_rejections_total",
        "brainmets_jobs_total",
        "brainmets_inference_seconds_bucket",
        "brainmets_job_latency_seconds_bucket",
        "brainmets_outbox_pending",
        "brainmets_http_requests_total",
        "brainmets_http_request_duration_seconds_bucket",
    } <= exported_sample_names()


def test_the_alert_rules_pass_promtool() -> None:
    result = run_promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_config_passes_promtool() -> None:
    result = run_promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_on_the_series_they_are_for() -> None:
    """promtool's unit tests of the rules: a stalled model, failures, dead letters, the outbox, latency."""
    result = run_promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_required_alerts_exist() -> None:
    rules = rule_expressions()
    watched = {alert: names_in(expr) for alert, expr in rules.items()}

    def alert_on(*names: str) -> bool:
        return any(set(names) <= found for found in watched.values())

    assert alert_on("rabbitmq_detailed_queue_messages", "brainmets_jobs_total")  # no done job, queue not empty
    assert any('outcome="failed"' in expr for expr in rules.values())  # failure ratio
    assert alert_on("brainmets_outbox_pending")
    assert any(".dead" in expr for expr in rules.values())
    assert alert_on("brainmets_job_latency_seconds_bucket")


def test_the_dashboard_is_valid_json_with_a_query_on_every_panel() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and board["panels"]
    datasource = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in [panel, *panel["targets"]]:
            assert target["datasource"]["uid"] == datasource["uid"], panel["title"]


def test_every_dashboard_and_alert_query_names_a_metric_that_is_exported() -> None:
    exported = exported_sample_names()
    rabbitmq = set().union(*RABBITMQ_FAMILIES.values())
    queries = {f"panel {title!r}": exprs for title, exprs in panel_queries().items()}
    queries |= {f"alert {alert}": [expr] for alert, expr in rule_expressions().items()}
    for where, exprs in queries.items():
        names = set().union(*(names_in(expr) for expr in exprs))
        assert names, f"{where} names no metric"
        ours = {n for n in names if n.startswith("brainmets_")}
        assert ours <= exported, f"{where}: {sorted(ours - exported)} are not exported by brainmets.telemetry"
        theirs = names - ours
        assert theirs <= rabbitmq | PROMETHEUS_OWN, f"{where}: unknown metrics {sorted(theirs)}"


def test_the_dashboard_shows_what_an_operator_scales_by() -> None:
    shown = set().union(*(names_in(e) for exprs in panel_queries().values() for e in exprs))
    for name in (
        "brainmets_scans_total",
        "brainmets_inference_seconds_bucket",
        "brainmets_job_latency_seconds_bucket",
        "rabbitmq_detailed_queue_messages_ready",
        "brainmets_jobs_total",
        "brainmets_outbox_pending",
    ):
        assert name in shown, name
    text = DASHBOARD.read_text()
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.95," in text


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each panel query as a recording rule, so that promtool parses it as Prometheus would."""
    rules = []
    for index, expr in enumerate(e for exprs in panel_queries().values() for e in exprs):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    (tmp_path / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = run_promtool("check", "rules", "panels.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_service_and_worker_on_its_port(compose_raw: dict[str, Any]) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    services = compose_raw["services"]
    for service in ("gateway", "results-api", "worker-unetpp", "worker-attention-unet"):
        (sd,) = jobs[service]["dns_sd_configs"]  # DNS: one record per replica, so scaled workers are found
        assert sd["names"] == [service] and sd["type"] == "A"
        env = services[service]["environment"]
        port = env.get("METRICS_PORT") if service.startswith("worker-") else env["PORT"]
        assert int(port) == sd["port"], service
    queues = jobs["rabbitmq-queues"]
    assert queues["metrics_path"] == "/metrics/detailed"
    assert set(queues["params"]["family"]) == set(RABBITMQ_FAMILIES)
    assert queues["static_configs"][0]["targets"] == ["rabbitmq:15692"]


def test_the_observability_profile_adds_prometheus_and_grafana_on_localhost(compose_raw: dict[str, Any]) -> None:
    services = compose_raw["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"], name
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name} must be bound to localhost: {port}"
    assert "./infra/observability/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    grafana = services["grafana"]["volumes"]
    assert "./infra/observability/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana
    assert "./infra/observability/grafana/dashboards:/etc/grafana/dashboards:ro" in grafana
    # Without the profile nothing else changes: the app services run as before and publish no metrics port.
    for name, spec in services.items():
        if name.startswith(("gateway", "results-api", "worker-")):
            assert "profiles" not in spec and "ports" not in spec, name
    assert Settings.model_fields["METRICS_PORT"].default == 9100


def test_the_kubernetes_copies_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("render_k8s", OBSERVABILITY / "render_k8s.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, render_copy in module.RENDERED.items():
        assert (OVERLAY / name).read_text() == render_copy(), f"rerun python infra/observability/render_k8s.py ({name})"


@pytest.mark.parametrize("beside", OVERLAYS)
def test_the_kubernetes_overlay_monitors_every_role_on_a_declared_port(beside: str) -> None:
    monitoring = render(OVERLAY)
    assert {m["metadata"].get("namespace") for m in monitoring} == {"brainmets"}
    kinds = {m["kind"] for m in monitoring}
    assert {"PodMonitor", "PrometheusRule", "ConfigMap"} <= kinds
    deployments = [m for m in render(K8S / "overlays" / beside) if m["kind"] == "Deployment"]
    monitored: set[str] = set()
    for monitor in (m for m in monitoring if m["kind"] == "PodMonitor"):
        assert set(monitor["spec"]) <= POD_MONITOR_FIELDS, monitor["metadata"]["name"]
        assert all(set(e) <= ENDPOINT_FIELDS for e in monitor["spec"]["podMetricsEndpoints"])
        wanted = monitor["spec"]["selector"]["matchLabels"]
        matched = [d for d in deployments if wanted.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert matched, f"PodMonitor {monitor['metadata']['name']} selects no pod"
        for deployment in matched:
            ports = {
                p["name"] for c in deployment["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
            }
            for endpoint in monitor["spec"]["podMetricsEndpoints"]:
                assert endpoint["port"] in ports, (monitor["metadata"]["name"], deployment["metadata"]["name"])
                assert endpoint["path"] == "/metrics"
            monitored.add(deployment["metadata"]["name"])
    assert {"gateway", "results-api", "worker-unetpp", "worker-attention-unet"} <= monitored
    (rule,) = (m for m in monitoring if m["kind"] == "PrometheusRule")
    assert all(set(r) <= RULE_FIELDS for group in rule["spec"]["groups"] for r in group["rules"])
    dashboard_map = next(m for m in monitoring if m["kind"] == "ConfigMap")
    assert dashboard_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard_map["data"]["brainmets.json"]) == dashboard()
