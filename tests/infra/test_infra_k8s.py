"""The Kubernetes manifests: rendered by Kustomize, valid against the Kubernetes schemas (offline), the KEDA
objects wired to the right Deployments and queues, and every command a module in the code."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from infra_support import (
    K8S,
    OVERLAYS,
    REPO,
    UPLOAD_LIMITS,
    assert_command_exists,
    assert_edge_limit_fits,
    module_of,
    nginx_size,
)

from brainmets.catalog import MODEL_NAMES
from brainmets.config import Settings
from brainmets.messaging import Topology

Manifest = dict[str, Any]
# The oldest minor version managed clusters still offer, and the newest the schemas know.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRET_TEMPLATE = K8S / "secrets" / "brainmets-secrets.example.yaml"
PROCESS_ENV = {"OMP_NUM_THREADS"}
API_PODS = {"Deployment/gateway", "Deployment/results-api", "Job/brainmets-migrate"}
# ScaledObject fields and rabbitmq trigger parameters, from KEDA 2.x's documentation: a typo fails here.
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
RABBITMQ_TRIGGER_FIELDS = {
    "host",
    "hostFromEnv",
    "protocol",
    "mode",
    "value",
    "activationValue",
    "queueName",
    "vhostName",
    "useRegex",
    "excludeUnacknowledged",
    "operation",
    "timeout",
    "unsafeSsl",
}
ALL_RENDERS = ("base", *OVERLAYS)


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in ("Deployment", "Job")
    }


def workers(manifests: list[Manifest]) -> dict[str, Manifest]:
    """Worker Deployments by model name (their MODEL_NAME)."""
    out = {}
    for deployment in of_kind(manifests, "Deployment").values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if "MODEL_NAME" in env:
            out[env["MODEL_NAME"]] = deployment
    return out


def config_data(manifests: list[Manifest]) -> dict[str, str]:
    return of_kind(manifests, "ConfigMap")["brainmets-config"]["data"]


def secret_template() -> Manifest:
    return yaml.safe_load(SECRET_TEMPLATE.read_text())


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_kustomize_renders(rendered: dict[str, list[Manifest]], name: str) -> None:
    kinds = {m["kind"] for m in rendered[name]}
    assert {"Deployment", "Service", "Job", "Ingress", "ConfigMap", "ScaledObject", "TriggerAuthentication"} <= kinds
    assert {m["metadata"].get("namespace") for m in rendered[name] if m["kind"] != "Namespace"} == {"brainmets"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("name", ALL_RENDERS)
def test_manifests_match_the_kubernetes_schemas(rendered: dict[str, list[Manifest]], name: str, version: str) -> None:
    checked = 0
    for manifest in rendered[name]:
        if manifest["apiVersion"].startswith("keda.sh/"):
            continue  # a custom resource: its fields are checked below
        # strict: an unknown or misspelt field is an error, as `kubectl apply --validate=strict` would say.
        kubernetes_validate.validate(manifest, version, strict=True)
        checked += 1
    assert checked >= 10


def test_the_secret_template_matches_the_schema_and_holds_only_placeholders() -> None:
    template = secret_template()
    kubernetes_validate.validate(template, kubernetes_validate.latest_version(), strict=True)
    for key, value in template["stringData"].items():
        assert "CHANGE_ME" in value, f"{key} must hold a placeholder"


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_no_secret_is_rendered_so_apply_never_overwrites_real_credentials(
    rendered: dict[str, list[Manifest]], name: str
) -> None:
    assert not of_kind(rendered[name], "Secret")


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_secret_reference_names_a_key_of_the_template(rendered: dict[str, list[Manifest]], name: str) -> None:
    keys = set(secret_template()["stringData"])
    for pod in pod_specs(rendered[name]).values():
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == "brainmets-secrets"
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "brainmets-secrets" and ref["key"] in keys
    for auth in of_kind(rendered[name], "TriggerAuthentication").values():
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["name"] == "brainmets-secrets" and ref["key"] in keys


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_configuration_names_are_settings(rendered: dict[str, list[Manifest]], name: str) -> None:
    fields = set(Settings.model_fields)
    assert set(config_data(rendered[name])) <= fields
    assert set(secret_template()["stringData"]) <= fields
    for key, pod in pod_specs(rendered[name]).items():
        if key == "Deployment/edge":
            continue  # nginx's own variables
        for container in pod["containers"]:
            assert {e["name"] for e in container.get("env", [])} - fields - PROCESS_ENV == set(), key


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_every_command_is_a_module_in_the_code(rendered: dict[str, list[Manifest]], name: str) -> None:
    modules = set()
    for pod in pod_specs(rendered[name]).values():
        for container in pod["containers"]:
            if "command" in container:
                assert_command_exists(container["command"])
                modules.add(module_of(container["command"]))
    assert modules == {"services.gateway", "services.results_api", "services.worker", "brainmets.db.migrate"}


@pytest.mark.parametrize("deployment", ["gateway", "results-api"])
def test_only_the_job_migrates(rendered: dict[str, list[Manifest]], deployment: str) -> None:
    container = of_kind(rendered["base"], "Deployment")[deployment]["spec"]["template"]["spec"]["containers"][0]
    assert "--no-migrate" in container["command"]


def test_the_migration_is_a_job(rendered: dict[str, list[Manifest]]) -> None:
    job = of_kind(rendered["base"], "Job")["brainmets-migrate"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert module_of(container["command"]) == "brainmets.db.migrate"
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


@pytest.mark.parametrize("deployment", ["gateway", "results-api"])
def test_http_services_probe_healthz_and_readyz(rendered: dict[str, list[Manifest]], deployment: str) -> None:
    manifests = rendered["base"]
    container = of_kind(manifests, "Deployment")[deployment]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == int(config_data(manifests)["PORT"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_services_and_ingress_reach_pods(rendered: dict[str, list[Manifest]], name: str) -> None:
    manifests = rendered[name]
    deployments = of_kind(manifests, "Deployment").values()
    services = of_kind(manifests, "Service")
    assert {"gateway", "results-api", "edge"} <= set(services)
    for service in services.values():
        selector = service["spec"]["selector"]
        targets = [d for d in deployments if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(targets) == 1, service["metadata"]["name"]
        port_names = {p["name"] for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    for ingress in of_kind(manifests, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "edge"
                assert backend["port"]["name"] in {p["name"] for p in services["edge"]["spec"]["ports"]}


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_edge_splits_by_method_with_the_same_config_as_compose(rendered: dict[str, list[Manifest]], name: str) -> None:
    manifests = rendered[name]
    template = (REPO / "infra" / "nginx" / "default.conf.template").read_text()
    assert of_kind(manifests, "ConfigMap")["edge-nginx"]["data"]["default.conf.template"] == template
    edge = of_kind(manifests, "Deployment")["edge"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in edge["env"]}
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) == set(env)
    services = of_kind(manifests, "Service")
    for variable, service in (("GATEWAY_UPSTREAM", "gateway"), ("RESULTS_API_UPSTREAM", "results-api")):
        host, port = env[variable].split(":")
        assert host == service and int(port) in {p["port"] for p in services[service]["spec"]["ports"]}
    gateway_limit = max(int(config_data(manifests)[name]) for name in UPLOAD_LIMITS)
    assert_edge_limit_fits(gateway_limit, env["EDGE_MAX_BODY"])
    for ingress in of_kind(manifests, "Ingress").values():
        annotation = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert nginx_size(annotation) >= nginx_size(env["EDGE_MAX_BODY"])


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_pods_run_as_non_root(rendered: dict[str, list[Manifest]], name: str) -> None:
    for key, pod in pod_specs(rendered[name]).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, key
        assert pod["securityContext"]["runAsUser"] != 0, key
        assert pod["enableServiceLinks"] is False, key
        assert pod["automountServiceAccountToken"] is False, key
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, key


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_one_worker_per_model_without_a_fixed_replica_count(rendered: dict[str, list[Manifest]], name: str) -> None:
    by_model = workers(rendered[name])
    assert sorted(by_model) == sorted(MODEL_NAMES)
    for deployment in by_model.values():
        # KEDA's HPA owns the count; a replicas field would reset it on every apply.
        assert "replicas" not in deployment["spec"]
        assert module_of(deployment["spec"]["template"]["spec"]["containers"][0]["command"]) == "services.worker"
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


@pytest.mark.parametrize("name", ALL_RENDERS)
def test_each_model_scales_on_its_own_queue(rendered: dict[str, list[Manifest]], name: str) -> None:
    manifests = rendered[name]
    topology = Topology(prefix=config_data(manifests)["AMQP_PREFIX"])
    by_model = workers(manifests)
    scaled = of_kind(manifests, "ScaledObject")
    auths = of_kind(manifests, "TriggerAuthentication")
    assert len(scaled) == len(MODEL_NAMES)
    targets = set()
    for scaled_object in scaled.values():
        spec = scaled_object["spec"]
        assert set(spec) <= SCALED_OBJECT_FIELDS
        assert scaled_object["apiVersion"] == "keda.sh/v1alpha1"
        ref = spec["scaleTargetRef"]
        assert ref.get("kind", "Deployment") == "Deployment" and ref.get("apiVersion", "apps/v1") == "apps/v1"
        model = next(m for m, d in by_model.items() if d["metadata"]["name"] == ref["name"])
        targets.add(model)
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        metadata = trigger["metadata"]
        assert set(metadata) <= RABBITMQ_TRIGGER_FIELDS
        assert metadata["queueName"] == topology.queue(model)
        assert metadata["mode"] == "QueueLength" and float(metadata["value"]) > 0
        auth = auths[trigger["authenticationRef"]["name"]]
        assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {"host"}
    assert targets == set(MODEL_NAMES)


def test_gpu_overlay_puts_workers_on_gpus_and_nothing_else(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["gpu"]
    worker_names = {d["metadata"]["name"] for d in workers(manifests).values()}
    for key, pod in pod_specs(manifests).items():
        container = pod["containers"][0]
        limits = container.get("resources", {}).get("limits", {})
        if key.split("/")[1] in worker_names:
            assert limits["nvidia.com/gpu"] == "1", key
            assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert {"name": "DEVICE", "value": "cuda"} in container["env"]
            assert container["image"].endswith("-cuda"), key
        else:
            assert "nvidia.com/gpu" not in limits, key
            assert "nodeSelector" not in pod, key
            assert not container["image"].endswith("-cuda"), key


@pytest.mark.parametrize("name", ["base", "cpu"])
def test_cpu_renders_ask_for_no_gpu(rendered: dict[str, list[Manifest]], name: str) -> None:
    text = yaml.safe_dump_all(rendered[name])
    assert "nvidia.com/gpu" not in text
    for deployment in workers(rendered[name]).values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        assert env.get("DEVICE", config_data(rendered[name])["DEVICE"]) == "cpu"


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlays_set_a_registry_image(rendered: dict[str, list[Manifest]], name: str) -> None:
    for key, pod in pod_specs(rendered[name]).items():
        image = pod["containers"][0]["image"]
        if key == "Deployment/edge":
            assert image.startswith("nginxinc/nginx-unprivileged:"), key
        else:
            assert image.startswith("registry.example.com/brainmets:"), key
            # The roles that run no network get the image without torch (Dockerfile ROLE=api); workers never.
            assert image.endswith("-api") == (key in API_PODS), key
