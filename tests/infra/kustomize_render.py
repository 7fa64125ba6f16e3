"""Render a Kustomize folder to a list of manifests, with or without a kustomize binary.

``kubectl kustomize`` (or ``kustomize build``) is used when either is installed. Otherwise a small loader
renders the subset of Kustomize that ``infra/k8s`` uses: ``resources`` (files and folders), ``namespace``,
``images`` and ``patches`` given by ``path`` (strategic merge: maps merge, lists of named items merge by name,
other lists are replaced). ``test_infra_k8s.py`` checks the loader against the binary where both exist.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

# Kinds without a namespace among those the manifests use.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}


def kustomize_binary() -> list[str] | None:
    """The command that renders a folder, or None when no kustomize is installed."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(folder: Path, use_binary: bool = True) -> list[Manifest]:
    command = kustomize_binary() if use_binary else None
    if command is not None:
        out = subprocess.run([*command, str(folder)], capture_output=True, text=True, timeout=120, check=True)
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    return render_in_python(folder)


def render_in_python(folder: Path) -> list[Manifest]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED_FIELDS
    if unknown:
        raise ValueError(f"{folder}: the fallback loader does not support {sorted(unknown)}; install kubectl")
    manifests: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        manifests.extend(render_in_python(path) if path.is_dir() else _load(path))
    for patch_entry in spec.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise ValueError(f"{folder}: only patches with a path are supported, got {patch_entry}")
        for patch in _load(folder / patch_entry["path"]):
            _apply_patch(manifests, patch)
    for image in spec.get("images", []):
        _set_image(manifests, image)
    if "namespace" in spec:
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED:
                manifest.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return manifests


def _load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _apply_patch(manifests: list[Manifest], patch: Manifest) -> None:
    for manifest in manifests:
        if manifest["kind"] == patch["kind"] and manifest["metadata"]["name"] == patch["metadata"]["name"]:
            merged = merge(manifest, patch)
            manifest.clear()
            manifest.update(merged)
            return
    raise ValueError(f"patch target {patch['kind']}/{patch['metadata']['name']} not found")


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge, the part of it these manifests need."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    if _named_list(base) and _named_list(patch):
        out = copy.deepcopy(base)
        index = {item["name"]: i for i, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) and "name" in i for i in value)


def _set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    for manifest in manifests:
        pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            ref = container["image"].split("@")[0]
            # A tag follows the last colon only when that colon is after the last slash (registry:port/...).
            name = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
