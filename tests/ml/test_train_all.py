"""training/train_all.sh: the two models, the two cpu stages and how the wall-time budget is shared."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_train_all(tmp_path: Path, preset: str, **env: str) -> list[list[str]]:
    """Run the script with a stand-in interpreter that records each training command instead of training."""
    calls = tmp_path / "calls.txt"
    recorder = tmp_path / "python"
    recorder.write_text(f'#!/usr/bin/env bash\necho "$@" >> {shlex.quote(str(calls))}\n')
    recorder.chmod(0o755)
    runs = tmp_path / "runs"
    subprocess.run(
        ["bash", "training/train_all.sh", preset, "DATA", str(runs)],
        cwd=REPO,
        env={**os.environ, "PYTHON": str(recorder), **env},
        check=True,
        capture_output=True,
    )
    return [line.split() for line in calls.read_text().splitlines()]


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def test_cpu_trains_patches_then_fine_tunes_on_whole_slices_within_the_budget(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100")
    runs = tmp_path / "runs"
    assert [(option(c, "--model"), option(c, "--out")) for c in calls] == [
        ("attention_unet", f"{runs}/attention_unet"),
        ("unetpp", f"{runs}/unetpp"),
        ("attention_unet", f"{runs}-finetuned/attention_unet"),
        ("unetpp", f"{runs}-finetuned/unetpp"),
    ]
    budgets = [float(option(c, "--max-minutes") or 0) for c in calls]
    assert budgets == [20.1, 46.9, 9.9, 23.1]  # 67% then 33% of 100 minutes, each shared 30/70
    assert sum(budgets) <= 100
    for first, second in zip(calls[:2], calls[2:], strict=True):
        assert option(first, "--init-from") is None and option(first, "--patch-size") is None
        assert option(second, "--init-from") == option(first, "--out")
        assert option(second, "--patch-size") == "0"  # whole slices
        # Only the stage that is published is calibrated: the first stage's post-processing would go unused.
        assert "--no-calibrate" in first and "--no-calibrate" not in second


def test_gpu_has_one_stage_on_whole_slices(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "gpu")
    assert [option(c, "--model") for c in calls] == ["attention_unet", "unetpp"]
    assert [option(c, "--max-minutes") for c in calls] == ["36.0", "84.0"]
    assert all("--init-from" not in c and "--no-calibrate" not in c for c in calls)
