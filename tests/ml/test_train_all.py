"""training/train_all.sh: the two models, the three cpu stages and how the wall-time budget is shared."""

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


def test_cpu_trains_patches_then_whole_slices_then_2_5d_within_the_budget(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100")
    runs = tmp_path / "runs"
    stages = [f"{runs}", f"{runs}-finetuned", f"{runs}-context"]
    assert [(option(c, "--model"), option(c, "--out")) for c in calls] == [
        (model, f"{stage}/{model}") for stage in stages for model in ("attention_unet", "unetpp")
    ]
    budgets = [float(option(c, "--max-minutes") or 0) for c in calls]
    assert budgets == [15.0, 35.0, 7.5, 17.5, 7.5, 17.5]  # 50%, 25% and 25% of 100 minutes, each shared 30/70
    assert sum(budgets) <= 100
    patches, slices, context = calls[:2], calls[2:4], calls[4:]
    for call in patches:
        assert option(call, "--init-from") is None and option(call, "--patch-size") is None
    for earlier, later in zip(patches + slices, slices + context, strict=True):
        assert option(later, "--init-from") == option(earlier, "--out")
        assert option(later, "--patch-size") == "0"  # whole slices
    assert all("context_slices=1" not in c for c in patches + slices)
    assert all("context_slices=1" in c for c in context)
    # Only the stage that is published is calibrated: the earlier stages' post-processing would go unused.
    assert ["--no-calibrate" in c for c in calls] == [True] * 4 + [False] * 2


def test_a_share_of_zero_skips_its_stage(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100", CONTEXT_SHARE="0", FINETUNE_SHARE="0.33")
    assert [float(option(c, "--max-minutes") or 0) for c in calls] == [20.1, 46.9, 9.9, 23.1]
    assert all("context_slices=1" not in c for c in calls)
    assert ["--no-calibrate" in c for c in calls] == [True, True, False, False]


def test_gpu_has_one_stage_on_whole_slices(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "gpu")
    assert [option(c, "--model") for c in calls] == ["attention_unet", "unetpp"]
    assert [option(c, "--max-minutes") for c in calls] == ["36.0", "84.0"]
    assert all("--init-from" not in c and "--no-calibrate" not in c for c in calls)
