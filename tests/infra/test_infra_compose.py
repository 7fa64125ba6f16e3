"""docker-compose.yml and its GPU override: valid Compose, complete, scalable, and wired to code that exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_support import (
    COMPOSE_SECRETS,
    REPO,
    UPLOAD_LIMITS,
    assert_command_exists,
    assert_edge_limit_fits,
    compose_config,
    module_of,
)

from brainmets.config import Settings
from brainmets.networks import MODEL_NAMES

APP_SERVICES = ("migrate", "gateway", "results-api", "worker-unetpp", "worker-attention-unet")
WORKERS = {"worker-unetpp": "unetpp", "worker-attention-unet": "attention_unet"}
EXPECTED_MODULES = {
    "migrate": "brainmets.db.migrate",
    "gateway": "services.gateway",
    "results-api": "services.results_api",
    "worker-unetpp": "services.worker",
    "worker-attention-unet": "services.worker",
}
# Variables a process reads that are not BrainMets settings.
PROCESS_ENV = {"OMP_NUM_THREADS"}


def rendered(*files: str) -> dict[str, Any]:
    result = compose_config(*files, env=COMPOSE_SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize(
    "files", [("docker-compose.yml",), ("docker-compose.yml", "docker-compose.gpu.yml")], ids=["cpu", "gpu"]
)
def test_compose_files_are_valid_against_the_compose_specification(files: tuple[str, ...]) -> None:
    config = rendered(*files)
    assert set(APP_SERVICES) <= set(config["services"])


def test_compose_refuses_to_start_without_the_passwords() -> None:
    result = compose_config("docker-compose.yml")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "RABBITMQ_PASSWORD" in result.stderr


def test_env_example_with_passwords_filled_in_renders(tmp_path: Path) -> None:
    text = (REPO / ".env.example").read_text()
    for name, value in COMPOSE_SECRETS.items():
        text = re.sub(rf"^{name}=$", f"{name}={value}", text, flags=re.MULTILINE)
    env_file = tmp_path / ".env"
    env_file.write_text(text)
    result = compose_config("docker-compose.yml", env_file=env_file)
    assert result.returncode == 0, result.stderr


def test_the_stack_has_every_part(compose_raw: dict[str, Any]) -> None:
    expected = {"postgres", "rabbitmq", "minio", "minio-init", "edge", *APP_SERVICES}
    assert expected <= set(compose_raw["services"])
    assert "management" in compose_raw["services"]["rabbitmq"]["image"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_service_command_is_a_module_in_the_code(compose_raw: dict[str, Any], service: str) -> None:
    command = compose_raw["services"][service]["command"]
    assert module_of(command) == EXPECTED_MODULES[service]
    assert_command_exists(command)


@pytest.mark.parametrize("service", ["gateway", "results-api"])
def test_only_the_one_shot_migrates(compose_raw: dict[str, Any], service: str) -> None:
    # Replicas that each migrate at start would race; the migrate service does it once, before them.
    assert "--no-migrate" in compose_raw["services"][service]["command"]


def test_one_worker_per_model(compose_raw: dict[str, Any]) -> None:
    models = {name: compose_raw["services"][name]["environment"]["MODEL_NAME"] for name in WORKERS}
    assert models == WORKERS
    assert sorted(models.values()) == sorted(MODEL_NAMES)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_can_be_scaled(compose_raw: dict[str, Any], service: str) -> None:
    spec = compose_raw["services"][service]
    # A fixed name or a published port lets only one replica start.
    assert "container_name" not in spec
    assert "ports" not in spec


def test_start_order_follows_health(compose_raw: dict[str, Any]) -> None:
    services = compose_raw["services"]

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert conditions("minio-init") == {"minio": "service_healthy"}
    for name in ("gateway", "results-api", *WORKERS):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "minio-init": "service_completed_successfully",
            "rabbitmq": "service_healthy",
        }
    assert conditions("edge") == {"gateway": "service_healthy", "results-api": "service_healthy"}


def test_every_awaited_service_has_a_health_check(compose_raw: dict[str, Any]) -> None:
    services = compose_raw["services"]
    dockerfile = (REPO / "Dockerfile").read_text()
    for spec in services.values():
        for dep, condition in spec.get("depends_on", {}).items():
            if condition["condition"] != "service_healthy":
                continue
            check = services[dep].get("healthcheck")
            if check is None:
                # Our own image carries its HEALTHCHECK.
                assert services[dep]["image"].startswith(("${BRAINMETS_IMAGE", "${BRAINMETS_API_IMAGE"))
                assert "HEALTHCHECK" in dockerfile
            else:
                assert not check.get("disable", False), dep
                assert check["test"], dep


def test_postgres_rabbitmq_and_minio_keep_data_in_named_volumes(compose_raw: dict[str, Any]) -> None:
    volumes = set(compose_raw["volumes"])
    for service, path in (
        ("postgres", "/var/lib/postgresql/data"),
        ("minio", "/data"),
        ("rabbitmq", "/var/lib/rabbitmq"),
    ):
        mounts = {m.split(":")[1]: m.split(":")[0] for m in compose_raw["services"][service]["volumes"]}
        assert mounts[path] in volumes


def test_minio_init_creates_the_configured_bucket(compose_raw: dict[str, Any]) -> None:
    init = compose_raw["services"]["minio-init"]
    script = " ".join(init["command"])
    assert "mc mb --ignore-existing" in script
    assert "$$S3_BUCKET" in script
    assert init["environment"]["S3_BUCKET"] == "${S3_BUCKET:-brainmets}"


def test_app_environment_names_are_settings(compose_raw: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for service in APP_SERVICES:
        names = set(compose_raw["services"][service]["environment"])
        assert names - fields - PROCESS_ENV == set(), service


def test_passwords_are_required_and_never_defaulted() -> None:
    text = "\n".join((REPO / name).read_text() for name in ("docker-compose.yml", "docker-compose.gpu.yml"))
    for name in COMPOSE_SECRETS:
        uses = re.findall(rf"\$\{{{name}([^}}]*)\}}", text)
        assert uses, name
        assert all(use.startswith(":?") for use in uses), f"{name} must be written ${{{name}:?message}}"


def test_env_example_names_every_variable_and_holds_no_secret() -> None:
    text = "\n".join((REPO / name).read_text() for name in ("docker-compose.yml", "docker-compose.gpu.yml"))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z_][A-Z0-9_]*=", line)
    )
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    for name in COMPOSE_SECRETS:
        assert example[name] == "", f"{name} must be left empty in .env.example"


def test_gpu_override_gives_the_workers_gpus_and_nothing_else() -> None:
    config = rendered("docker-compose.yml", "docker-compose.gpu.yml")
    for name, spec in config["services"].items():
        devices = spec.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name in WORKERS:
            assert devices and devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
            assert spec["environment"]["DEVICE"] == "cuda"
            assert spec["environment"]["MODEL_NAME"] == WORKERS[name]
            assert spec["build"]["args"]["VARIANT"] == "cuda"
        else:
            assert not devices, name
            if "build" in spec:
                assert spec["build"]["args"]["VARIANT"] == "cpu", name


def test_cpu_is_the_default() -> None:
    config = rendered("docker-compose.yml")
    for name in WORKERS:
        assert config["services"][name]["environment"]["DEVICE"] == "cpu"
        assert "deploy" not in config["services"][name]


def test_roles_without_a_network_run_the_api_image() -> None:
    """The gateway, the results API and the migration get the image built without torch; workers never do."""
    for files in (("docker-compose.yml",), ("docker-compose.yml", "docker-compose.gpu.yml")):
        services = rendered(*files)["services"]
        for name in ("migrate", "gateway", "results-api"):
            assert services[name]["build"]["args"]["ROLE"] == "api", name
            assert services[name]["image"] == "brainmets:api", name
        for name in WORKERS:
            assert services[name]["build"]["args"].get("ROLE", "all") == "all", name
            assert services[name]["image"] != "brainmets:api", name


def test_edge_gets_every_variable_its_template_uses(compose_raw: dict[str, Any]) -> None:
    template = (REPO / "infra" / "nginx" / "default.conf.template").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) == set(compose_raw["services"]["edge"]["environment"])
    mount = compose_raw["services"]["edge"]["volumes"][0].split(":")
    assert mount[0] == "./infra/nginx/default.conf.template"
    assert mount[1] == "/etc/nginx/templates/default.conf.template"


def test_edge_body_limit_sits_just_above_the_gateway_limit(compose_raw: dict[str, Any]) -> None:
    app_env = compose_raw["x-app"]["environment"]
    defaults = {name: int(re.search(r":-(\d+)", app_env[name]).group(1)) for name in UPLOAD_LIMITS}
    edge_default = re.search(r":-(\w+)", compose_raw["services"]["edge"]["environment"]["EDGE_MAX_BODY"]).group(1)
    for name, value in defaults.items():
        assert value == Settings.model_fields[name].default, name
    # The gateway takes a body up to the larger limit (Settings.max_request_bytes); the edge must let that through.
    assert_edge_limit_fits(max(defaults.values()), edge_default)
