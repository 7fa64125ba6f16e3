"""requirements.lock pins every dependency that pyproject.toml names, and this environment was installed from it."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    return [Requirement(d) for d in names]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is missing from requirements.lock: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {requirement.name}=={locked[name]}, outside {requirement.specifier}: run make lock"
        )


def test_the_installed_environment_is_the_locked_one() -> None:
    drifted = []
    for name, version in _locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # pinned for another platform or extra
        if installed.public != version.public:  # a local label (+cpu) is the same release
            drifted.append(f"{name} {installed} (locked {version})")
    assert not drifted, "installed versions differ from requirements.lock: " + ", ".join(drifted)
