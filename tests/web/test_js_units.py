"""Run the web app's JavaScript unit tests (Node's built-in runner) as part of the pytest suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).parent / "unit"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_javascript_units_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    files = sorted(str(p.relative_to(REPO_ROOT)) for p in UNIT_DIR.glob("*.test.mjs"))
    assert files, f"no *.test.mjs under {UNIT_DIR}"
    proc = subprocess.run(
        [node, "--test", *files], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"node --test failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False)
