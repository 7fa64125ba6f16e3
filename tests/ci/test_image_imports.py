"""What the image copies (services/, shared/) imports only runtime dependencies: no dev tool ships in it."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE_CODE = ("services", "shared")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_image_code_imports_no_dev_only_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev_only = _names(project["optional-dependencies"]["dev"]) - _names(project["dependencies"])
    distributions = packages_distributions()
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for folder in IMAGE_CODE
        for path in (ROOT / folder).rglob("*.py")
        for module in _imported_modules(path)
        if _names(distributions.get(module, [])) & dev_only
    }
    assert dev_only, "pyproject.toml names no dev-only dependency"
    assert not offending, f"image code imports dev-only packages: {sorted(offending)}"
