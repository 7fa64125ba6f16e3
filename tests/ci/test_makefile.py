"""The Makefile has every target the code tells people to run, and its training commands parse as the CLIs expect."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULE = re.compile(r"^([A-Za-z][\w-]*)\s*:(?!=)", re.MULTILINE)
MENTION = re.compile(r"`make ([a-z][\w-]*)")


def _targets() -> set[str]:
    return set(RULE.findall((ROOT / "Makefile").read_text()))


def _dry_run(*args: str) -> list[str]:
    """The command ``make -n`` would run for ``args``, split into words (line continuations joined)."""
    done = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.replace("\\\n", " ").splitlines()
    (command,) = [line for line in lines if " -m training." in line]
    return shlex.split(command)


def test_every_make_target_the_code_names_exists() -> None:
    named = {
        target
        for folder in ("services", "shared", "training")
        for path in (ROOT / folder).rglob("*.py")
        for target in MENTION.findall(path.read_text())
    }
    assert {"train", "evaluate"} <= _targets()
    assert named <= _targets(), f"named but not in the Makefile: {sorted(named - _targets())}"


def test_make_train_passes_the_data_and_output_folders() -> None:
    from training.train import parse_args

    words = _dry_run("train", "MODEL=attention_unet", "DATA=/data/lgg", "OUT=/runs/au")
    assert words[1:3] == ["-m", "training.train"]
    args = parse_args(words[3:])
    assert (args.model, args.data, args.out) == ("attention_unet", Path("/data/lgg"), Path("/runs/au"))
    assert (args.preset, args.split) == ("cpu", Path("training/splits/lgg-flair.json"))


@pytest.mark.parametrize("subset", ["test", "val"])
def test_make_evaluate_passes_the_data_weights_and_report_folders(subset: str) -> None:
    from training.evaluate import parse_args

    words = _dry_run("evaluate", "DATA=/data/lgg", "WEIGHTS=/runs/cpu", "REPORT_DIR=/reports", f"SUBSET={subset}")
    assert words[1:3] == ["-m", "training.evaluate"]
    args = parse_args(words[3:])
    assert (args.data, args.weights_dir, args.out) == (Path("/data/lgg"), Path("/runs/cpu"), Path("/reports"))
    assert (args.split, args.subset) == (Path("training/splits/lgg-flair.json"), subset)
