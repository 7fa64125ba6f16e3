from __future__ import annotations

import numpy as np

from training.comparison import paired_comparison
from training.report import comparison_verdict, generalisation_table


def _comparison(p: float, interval: tuple[float, float]) -> dict[str, object]:
    lo, hi = interval
    return {
        "wilcoxon_p": p,
        "confidence": 0.95,
        "bootstrap_interval": [lo, hi],
        "significant": p < 0.05 and (lo > 0 or hi < 0),
    }


def test_a_consistent_gap_is_called_significant() -> None:
    rng = np.random.default_rng(0)
    b = {f"p{i}": float(v) for i, v in enumerate(rng.uniform(0.6, 0.8, 14))}
    a = {k: v + 0.05 + 0.01 * (i % 3) for i, (k, v) in enumerate(b.items())}
    comparison = paired_comparison(a, b)
    assert comparison["significant"] and comparison["wins_a"] == 14
    assert comparison_verdict(comparison).startswith("the difference is statistically significant")


def test_the_verdict_says_when_the_two_tests_disagree() -> None:
    # Both say no difference.
    assert "not statistically significant" in comparison_verdict(_comparison(0.4, (-0.03, 0.01)))
    # The signed-rank test is significant while the bootstrap interval just holds zero: neither verdict alone.
    verdict = comparison_verdict(_comparison(0.0245, (-0.0596, 0.00004)))
    assert "signed-rank test is significant (p = 0.0245)" in verdict
    assert "interval contains 0" in verdict and "not statistically significant" not in verdict
    # The interval excludes zero, the signed-rank test does not reject.
    verdict = comparison_verdict(_comparison(0.08, (0.001, 0.05)))
    assert "excludes 0" in verdict and "not significant (p = 0.08)" in verdict


def test_the_generalisation_table_shows_the_held_out_validation_figure() -> None:
    def card(held_out: float | None) -> dict[str, object]:
        search = {"held_out": {"per_patient_dice_mean": held_out}} if held_out is not None else {}
        return {"validation_metrics": {"per_patient_dice_mean": 0.80, "postprocessing_search": search}}

    models = {
        "unetpp": {"card": card(0.7812), "per_patient_dice_mean": 0.824},
        "attention_unet": {"card": card(None), "per_patient_dice_mean": 0.799},  # calibrated before it existed
    }
    lines = generalisation_table(models)
    assert "held out" in lines[0]
    assert lines[2] == "| U-Net++ | 0.800 | 0.781 | 0.824 | 0.024 |"
    assert lines[3] == "| Attention U-Net | 0.800 | n/a | 0.799 | -0.001 |"
