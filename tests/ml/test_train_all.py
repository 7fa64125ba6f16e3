"""training/train_all.sh: the two models, the cpu stages and how the wall-time budget is shared."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The published lineage's three stages (the default gives the 2.5D stage's share to the 2D whole slices).
THREE_STAGES = {"FINETUNE_SHARE": "0.25", "CONTEXT_SHARE": "0.25"}


def run_train_all(tmp_path: Path, preset: str, overhead_s: int = 0, **env: str) -> list[list[str]]:
    """Run the script on a fake clock, with a stand-in interpreter that records each training command instead of
    training and moves the clock on by the minutes it was given plus ``overhead_s`` (loading, the last
    validation, calibration: what a real run spends beyond its budget)."""
    calls, clock, bin_dir = tmp_path / "calls.txt", tmp_path / "clock", tmp_path / "bin"
    clock.write_text("1000000\n")
    bin_dir.mkdir()
    fake_date = bin_dir / "date"
    fake_date.write_text(
        f'#!/usr/bin/env bash\nif [[ "$1" == +%s ]]; then cat {shlex.quote(str(clock))}; else exec /bin/date "$@"; fi\n'
    )
    recorder = tmp_path / "python"
    recorder.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$@" >> {shlex.quote(str(calls))}\n'
        'args=("$@"); for i in "${!args[@]}"; do [[ ${args[$i]} == --max-minutes ]] && m=${args[$((i + 1))]}; done\n'
        f"clock={shlex.quote(str(clock))}\n"
        f'awk -v n="$(cat "$clock")" -v m="$m" \'BEGIN {{ printf "%d\\n", n + m * 60 + {overhead_s} }}\' > "$clock"\n'
    )
    for script in (fake_date, recorder):
        script.chmod(0o755)
    runs = tmp_path / "runs"
    done = subprocess.run(
        ["bash", "training/train_all.sh", preset, "DATA", str(runs)],
        cwd=REPO,
        env={**os.environ, "PYTHON": str(recorder), "PATH": f"{bin_dir}:{os.environ['PATH']}", **env},
        check=True,
        capture_output=True,
        text=True,
    )
    (tmp_path / "stdout.txt").write_text(done.stdout)
    return [line.split() for line in calls.read_text().splitlines()]


def elapsed_minutes(tmp_path: Path) -> float:
    return (int((tmp_path / "clock").read_text()) - 1_000_000) / 60


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def test_cpu_trains_patches_then_2d_whole_slices_by_default(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100")
    runs = tmp_path / "runs"
    assert [(option(c, "--model"), option(c, "--out")) for c in calls] == [
        (model, f"{stage}/{model}")
        for stage in (f"{runs}", f"{runs}-finetuned")
        for model in ("attention_unet", "unetpp")
    ]
    # Half the 94 minutes left after the calibrations' 6% to each stage, each shared 30/70.
    assert [float(option(c, "--max-minutes") or 0) for c in calls] == pytest.approx([14.1, 32.9, 14.1, 32.9], abs=0.06)
    assert [option(c, "--init-from") for c in calls] == [None, None, f"{runs}/attention_unet", f"{runs}/unetpp"]
    assert [option(c, "--patch-size") for c in calls] == [None, None, "0", "0"]
    assert all("context_slices=1" not in c for c in calls)  # no neighbouring slices: one stage fewer to predict
    assert all("deep_supervision=true" in c for c in calls)
    assert ["--no-calibrate" in c for c in calls] == [True, True, False, False]


def test_cpu_trains_patches_then_whole_slices_then_2_5d_when_the_context_stage_has_a_share(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100", **THREE_STAGES)
    runs = tmp_path / "runs"
    stages = [f"{runs}", f"{runs}-finetuned", f"{runs}-context"]
    assert [(option(c, "--model"), option(c, "--out")) for c in calls] == [
        (model, f"{stage}/{model}") for stage in stages for model in ("attention_unet", "unetpp")
    ]
    budgets = [float(option(c, "--max-minutes") or 0) for c in calls]
    # 50%, 25% and 25% of the 94 minutes left after the calibrations' 6%, each shared 30/70.
    # Each run's tenths are rounded, and what rounding gives or takes moves to the later runs.
    assert budgets == pytest.approx([14.1, 32.9, 7.05, 16.45, 7.05, 16.45], abs=0.06)
    assert sum(budgets) <= 94
    patches, slices, context = calls[:2], calls[2:4], calls[4:]
    for call in patches:
        assert option(call, "--init-from") is None and option(call, "--patch-size") is None
    for earlier, later in zip(patches + slices, slices + context, strict=True):
        assert option(later, "--init-from") == option(earlier, "--out")
        assert option(later, "--patch-size") == "0"  # whole slices
    assert all("context_slices=1" not in c for c in patches + slices)
    assert all("context_slices=1" in c for c in context)
    # One recipe for both networks: each is deeply supervised in every stage.
    assert all("deep_supervision=true" in c for c in calls)
    # Only the stage that is published is calibrated: the earlier stages' post-processing would go unused.
    assert ["--no-calibrate" in c for c in calls] == [True] * 4 + [False] * 2


def test_a_share_of_zero_skips_its_stage(tmp_path: Path) -> None:
    calls = run_train_all(
        tmp_path, "cpu", BUDGET_MINUTES="100", CONTEXT_SHARE="0", FINETUNE_SHARE="0.33", CALIBRATION_SHARE="0"
    )
    assert [float(option(c, "--max-minutes") or 0) for c in calls] == [20.1, 46.9, 9.9, 23.1]
    assert all("context_slices=1" not in c for c in calls)
    assert ["--no-calibrate" in c for c in calls] == [True, True, False, False]


def test_gpu_has_one_stage_on_whole_slices(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "gpu")
    assert [option(c, "--model") for c in calls] == ["attention_unet", "unetpp"]
    assert [option(c, "--max-minutes") for c in calls] == ["33.8", "79.0"]  # 30/70 of 94% of 120 minutes
    assert all("--init-from" not in c and "--no-calibrate" not in c for c in calls)
    assert all("deep_supervision=true" in c for c in calls)


def test_what_a_run_overspends_comes_out_of_the_later_runs(tmp_path: Path) -> None:
    """Each run also spends two minutes beyond its budget (a real run loads its data and validates at the end):
    the later runs get less, and the whole command still ends with the calibrations' reserve left."""
    calls = run_train_all(tmp_path, "cpu", overhead_s=120, BUDGET_MINUTES="180", **THREE_STAGES)
    budgets = [float(option(c, "--max-minutes") or 0) for c in calls]
    assert budgets[0] == round(180 * 0.94 * 0.5 * 0.3, 1)
    # The shares between the runs still hold: 30/70 within each stage, the patch stage twice each later one.
    assert abs(budgets[1] / budgets[0] - 0.7 / 0.3) < 0.1
    assert budgets[4] < budgets[2] < budgets[0]
    spent = elapsed_minutes(tmp_path)
    assert 180 * 0.94 - 1 <= spent <= 180, spent


def test_a_run_started_past_the_deadline_still_gets_a_tenth_of_a_minute(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", overhead_s=3600, BUDGET_MINUTES="60")
    budgets = [float(option(c, "--max-minutes") or 0) for c in calls]
    assert len(budgets) == 4 and budgets[-1] == 0.1


def test_the_2_5d_stage_takes_its_neighbours_from_context_slices(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100", CONTEXT_SLICES="2", **THREE_STAGES)
    assert ["context_slices=2" in c for c in calls] == [False] * 4 + [True] * 2


def test_with_both_whole_slice_shares_at_zero_the_patch_stage_takes_the_budget_and_is_calibrated(
    tmp_path: Path,
) -> None:
    """What the README advises for a CPU too slow for more than an epoch of whole slices."""
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100", FINETUNE_SHARE="0", CONTEXT_SHARE="0")
    assert [option(c, "--model") for c in calls] == ["attention_unet", "unetpp"]
    assert [float(option(c, "--max-minutes") or 0) for c in calls] == [28.2, 65.8]  # 30/70 of 94 minutes
    assert all(option(c, "--init-from") is None and "--no-calibrate" not in c for c in calls)
    assert all(option(c, "--patch-size") is None for c in calls)  # the preset's native-resolution patches


def test_it_ends_by_naming_the_selection_step_and_publishes_nothing(tmp_path: Path) -> None:
    calls = run_train_all(tmp_path, "cpu", BUDGET_MINUTES="100")
    assert all("training.publish" not in c and "training.select_version" not in c for c in calls)
    said = (tmp_path / "stdout.txt").read_text()
    for model in ("attention_unet", "unetpp"):
        candidate = f"--candidate {tmp_path / 'runs'}-finetuned/{model} --incumbent training/artifacts/{model}"
        assert f"-m training.select_version {candidate}" in said
