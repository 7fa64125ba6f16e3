"""Version selection scores each validation patient with post-processing chosen without it, and replaces the
published version only for a gain beyond the noise."""

from __future__ import annotations

import numpy as np
import pytest

from tests.synthetic import ellipse
from training.postprocess_search import held_out_scores, score_settings
from training.select_version import verdict

SHAPE = (48, 48)
RADIUS = 8


def cone_patient(spread: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One slice: a disk lesion under a probability cone that reaches 0 at ``spread`` times its radius, so the
    threshold that traces the lesion best is 1 - 1 / spread, a different one for each spread."""
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    distance = np.hypot(yy - 24, xx - 24)
    probability = np.clip(1 - distance / (RADIUS * spread), 0, 1)
    return [probability], [ellipse(SHAPE, (24, 24), (RADIUS, RADIUS))]


def held_out(spreads: list[float]) -> dict:
    cases = [cone_patient(s) for s in spreads]
    scores = score_settings([c[0] for c in cases], [c[1] for c in cases])
    # The same probabilities "with flip averaging": it gains nothing, so it is never taken.
    return held_out_scores({False: scores, True: scores}, [f"P{k}" for k in range(len(cases))])


def test_alike_patients_are_scored_as_in_sample() -> None:
    result = held_out([1.5] * 5)
    assert result["per_patient_dice_mean"] == pytest.approx(result["in_sample"]["dice"])
    assert list(result["settings_chosen"].values()) == [5]  # the same choice whichever patient is left out
    assert not result["in_sample"]["flip_averaging"]
    assert result["lesion_sensitivity"] == 1.0 and result["false_positive_lesions_per_patient"] == 0


def test_held_out_figures_take_out_the_searchs_optimism() -> None:
    # Patients that want different thresholds: each left-out one is traced with a threshold that suits the rest.
    result = held_out([1.2, 1.3, 2.5, 4.0, 6.0])
    assert result["per_patient_dice_mean"] < result["in_sample"]["dice"] - 0.005
    assert len(result["settings_chosen"]) > 1
    assert set(result["per_patient_dice"]) == {"P0", "P1", "P2", "P3", "P4"}


def test_held_out_needs_two_patients() -> None:
    with pytest.raises(ValueError, match="at least two patients"):
        held_out([1.5])


def test_a_clear_gain_replaces_the_incumbent() -> None:
    incumbent = {f"P{k}": 0.70 + 0.01 * k for k in range(14)}
    candidate = {p: d + 0.04 + 0.005 * (k % 3) for k, (p, d) in enumerate(incumbent.items())}
    result = verdict(candidate, incumbent)
    assert result["replace"] and "better" in result["reason"]


def test_a_gain_within_the_noise_keeps_the_incumbent() -> None:
    # Higher on average (+0.004), but up on some patients and down on others, as two training runs are.
    incumbent = {f"P{k}": 0.75 for k in range(14)}
    candidate = {p: 0.75 + (0.05 if k % 2 else -0.042) for k, p in enumerate(incumbent)}
    result = verdict(candidate, incumbent)
    assert result["comparison"]["mean_difference"] > 0
    assert not result["replace"] and "within the noise" in result["reason"]


def test_a_clear_loss_keeps_the_incumbent_and_says_so() -> None:
    incumbent = {f"P{k}": 0.80 for k in range(14)}
    candidate = {p: 0.70 for p in incumbent}
    result = verdict(candidate, incumbent)
    assert not result["replace"] and "worse" in result["reason"]
