"""Print the pip requirements of an image role, from pyproject.toml (run at build time, beside it).

``python requirements.py all``: every runtime dependency but torch (installed first, from the CPU or CUDA index).
``python requirements.py api``: also without the packages only the networks need (``[tool.brainmets] model-only``):
the gateway, the results API and the migration job never load a model.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROLES = ("all", "api")


def distribution(requirement: str) -> str:
    """The normalised distribution name of a requirement string (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]).lower()


def requirements(pyproject: dict, role: str) -> list[str]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    left_out = {"torch"}
    if role == "api":
        left_out |= {distribution(name) for name in pyproject["tool"]["brainmets"]["model-only"]}
    return [dep for dep in pyproject["project"]["dependencies"] if distribution(dep) not in left_out]


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else "all"
    pyproject = tomllib.loads(Path("pyproject.toml").read_text())
    sys.stdout.write("".join(f"{dep}\n" for dep in requirements(pyproject, role)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
