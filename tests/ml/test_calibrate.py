"""The post-processing search keeps small true lesions, stays within its cap, and says when it hits an edge."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainmets.inference.postprocess import postprocess
from tests.synthetic import ellipse
from training import postprocess_search as ps

SHAPE = (64, 64)


def blob(center: tuple[int, int], radius: float, value: float) -> np.ndarray:
    return ellipse(SHAPE, center, (radius, radius)) * value


def patient(small_truth: bool, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Three slices: a large lesion found with confidence, then either a small true lesion found with middling
    confidence or a small false blob of the same look, then an empty slice."""
    rng = np.random.default_rng(seed)
    big_truth = ellipse(SHAPE, (32, 32), (10, 10))
    big_prob = np.clip(blob((32, 32), 10, 0.95) + rng.uniform(0, 0.02, SHAPE), 0, 1)
    small = ellipse(SHAPE, (20, 44), (2, 2))  # 13 pixels
    small_prob = blob((20, 44), 2, 0.6)
    probs = [big_prob, small_prob, np.zeros(SHAPE)]
    truths = [big_truth, small if small_truth else np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)]
    return probs, truths


def test_a_small_true_lesion_is_never_removed_even_when_dice_would_gain() -> None:
    cases = [patient(small_truth=k == 0, seed=k) for k in range(6)]  # one small true lesion, five false blobs
    probabilities = [c[0] for c in cases]
    truths = [c[1] for c in cases]
    best, grid = ps.search(probabilities, truths)
    # Removing components under 15 px would delete five false blobs and one true lesion: better per-patient Dice...
    removing = next(g for g in grid if g["threshold"] == best["threshold"] and g["min_component_pixels"] == 15)
    keeping = next(g for g in grid if g["threshold"] == best["threshold"] and g["min_component_pixels"] == 0)
    assert removing["dice"] > keeping["dice"] and removing["loses_lesions"] and not removing["eligible"]
    # ... but the search keeps every lesion the plain model finds.
    assert best["lesion_sensitivity"] == 1.0 and best["min_component_pixels"] < 13
    assert all(g["min_component_pixels"] <= ps.MAX_MIN_COMPONENT_PIXELS for g in grid)


def test_a_floor_from_the_plain_model_binds_the_flip_averaged_search() -> None:
    # Flip-averaged probabilities that see the small true lesion only faintly: no pair finds it.
    probs, truths = patient(small_truth=True, seed=0)
    probs[1] = blob((20, 44), 2, ps.THRESHOLDS[0] / 2)  # under the lowest threshold of the grid
    free, _ = ps.search([probs], [truths])
    assert free["eligible"] and free["lesion_sensitivity"] == 0.5
    # The plain model found both lesions: below that floor nothing is eligible, and no post-processing is chosen.
    bound, grid = ps.search([probs], [truths], floor=1.0)
    assert not bound["eligible"] and not any(g["eligible"] for g in grid)
    assert (bound["threshold"], bound["min_component_pixels"]) == (0.5, 0)


def test_false_blobs_are_removed_when_no_lesion_is_lost() -> None:
    cases = [patient(small_truth=False, seed=k) for k in range(4)]
    best, _ = ps.search([c[0] for c in cases], [c[1] for c in cases])
    # By size or by peak (the blobs peak at 0.6, the lesions at 0.95): either removes them.
    assert 13 < best["min_component_pixels"] <= ps.MAX_MIN_COMPONENT_PIXELS or best["min_component_peak"] > 0.6
    assert best["lesion_sensitivity"] == 1.0 and best["false_positive_lesions_per_patient"] == 0


def faint_large_false_positive(seed: int, small_peak: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A large lesion, sure at its core but at 0.35 along its rim (only a low threshold finds its extent), a small
    true lesion peaking at ``small_peak`` and, on another slice, a faint false component of 81 pixels: too large
    for any allowed size rule."""
    rng = np.random.default_rng(seed)
    big_truth = ellipse(SHAPE, (32, 32), (10, 10))
    big_prob = blob((32, 32), 10, 0.35) + blob((32, 32), 6, 0.62) + rng.uniform(0, 0.02, SHAPE)
    small_truth = ellipse(SHAPE, (20, 44), (2, 2))
    false_prob = blob((44, 16), 5, 0.45)  # 81 pixels
    probs = [big_prob + blob((20, 44), 2, small_peak), false_prob]
    return probs, [big_truth | small_truth, np.zeros(SHAPE, bool)]


def test_a_faint_false_positive_of_any_size_is_removed_by_its_peak() -> None:
    cases = [faint_large_false_positive(k, small_peak=0.9) for k in range(4)]
    best, grid = ps.search([c[0] for c in cases], [c[1] for c in cases])
    assert 0.45 < best["min_component_peak"] <= 0.9 and best["threshold"] <= 0.35
    assert best["lesion_sensitivity"] == 1.0 and best["false_positive_lesions_per_patient"] == 0
    # Without the peak rule, only a threshold that cuts the large lesion's rim removes the false component.
    by_size_alone = [g for g in grid if g["min_component_peak"] == 0 and g["eligible"]]
    clean = [g for g in by_size_alone if g["false_positive_lesions_per_patient"] == 0]
    assert max(g["dice"] for g in clean) < best["dice"] - 0.05


def test_the_peak_rule_never_removes_a_true_lesion_the_threshold_found() -> None:
    # The small true lesion peaks at 0.4, under the false component's 0.45: no peak removes one and not the other.
    cases = [faint_large_false_positive(k, small_peak=0.4) for k in range(4)]
    best, grid = ps.search([c[0] for c in cases], [c[1] for c in cases])
    assert best["lesion_sensitivity"] == 1.0
    assert all(not g["eligible"] for g in grid if g["loses_lesions"])
    assert any(g["loses_lesions"] for g in grid if g["min_component_peak"] > 0.4 and g["threshold"] <= 0.35)


def lesion_and_false_alarm(rim: float, alarm: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A large lesion (radius 25) sure inside (0.95) whose outer ``rim`` pixels only a low threshold finds (0.12)
    and, two slices away where ``alarm``, a false alarm sure at its 13-pixel core (0.97: no peak rule removes it
    and keeps the lesion) in a faint halo of 113 pixels, too large for any size rule at a low threshold."""
    lesion = blob((32, 32), 25, 0.12) + blob((32, 32), 25 - rim, 0.83)
    false = blob((32, 32), 6, 0.12) + blob((32, 32), 2, 0.85) if alarm else np.zeros(SHAPE)
    empty = np.zeros(SHAPE, bool)
    return [lesion, np.zeros(SHAPE), false], [ellipse(SHAPE, (32, 32), (25, 25)), empty, empty]


def search_alarms(rim: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The search's choice and the eligible setting of best Dice, on three patients, two of them with an alarm."""
    cases = [lesion_and_false_alarm(rim, alarm=k < 2) for k in range(3)]
    best, grid = ps.search([c[0] for c in cases], [c[1] for c in cases])
    return best, max((g for g in grid if g["eligible"]), key=lambda g: g["dice"])


def test_the_false_positive_target_binds_at_a_small_dice_cost() -> None:
    best, by_dice = search_alarms(rim=0.7)
    # The best Dice comes with the rim and the whole alarms: 0.67 false-positive lesions per patient...
    assert by_dice["threshold"] <= 0.1 and by_dice["false_positive_lesions_per_patient"] > 0.5
    # ... above the target, so a higher threshold with the alarms' cores dropped by size is chosen, for less Dice
    # than a run's noise but more than a tie.
    assert best["false_positive_lesions_per_patient"] <= ps.MAX_FALSE_POSITIVES_PER_PATIENT
    assert best["threshold"] > 0.12 and 13 < best["min_component_pixels"] <= ps.MAX_MIN_COMPONENT_PIXELS
    cost = by_dice["dice"] - best["dice"]
    assert ps.DICE_TIE < cost <= ps.TARGET_MAX_DICE_COST and best["lesion_sensitivity"] == 1.0


def test_the_target_is_given_up_with_a_warning_when_it_costs_more(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="training.postprocess_search"):
        best, by_dice = search_alarms(rim=1.0)  # dropping the rim now costs more than 0.01 Dice
    assert best["false_positive_lesions_per_patient"] > 0.5
    assert best["dice"] >= by_dice["dice"] - ps.DICE_TIE
    assert "false-positive lesions per patient" in caplog.text


def test_the_false_positive_target_never_costs_a_lesion() -> None:
    # Only a threshold under the false component's 0.45 finds the small true lesion (peak 0.4), and the plain model
    # misses it: the target could be met by losing that lesion, which the search must not do.
    cases = [faint_large_false_positive(k, small_peak=0.4) for k in range(4)]
    best, grid = ps.search([c[0] for c in cases], [c[1] for c in cases])
    assert any(g["eligible"] and g["false_positive_lesions_per_patient"] == 0 for g in grid)
    assert best["lesion_sensitivity"] == 1.0 and best["false_positive_lesions_per_patient"] > 0.5


def test_the_grid_is_wide_and_its_edges_are_reported() -> None:
    assert ps.THRESHOLDS[0] <= 0.1 and ps.THRESHOLDS[-1] >= 0.9
    assert ps.MIN_PIXELS[-1] == ps.MAX_MIN_COMPONENT_PIXELS == 50
    assert ps.edges_reached({"threshold": 0.5, "min_component_pixels": 10}) == []
    edges = ps.edges_reached({"threshold": ps.THRESHOLDS[0], "min_component_pixels": 50})
    assert len(edges) == 2 and "threshold" in edges[0]


def test_calibration_warns_at_a_grid_edge(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ps, "THRESHOLDS", (0.5, 0.6))
    cases = [patient(small_truth=False, seed=k) for k in range(2)]
    with caplog.at_level(logging.WARNING, logger="training.postprocess_search"):
        best, _ = ps.search([c[0] for c in cases], [c[1] for c in cases])
    assert best["threshold"] in (0.5, 0.6)
    assert "edge of the search grid" in caplog.text


def test_postprocess_drops_only_components_under_the_size() -> None:
    prob = blob((20, 20), 2, 0.9) + blob((44, 44), 6, 0.9)
    small = int(ellipse(SHAPE, (20, 20), (2, 2)).sum())
    assert postprocess(prob, 0.5, 0).sum() == (prob >= 0.5).sum()
    kept = postprocess(prob, 0.5, small + 1)
    assert not kept[20, 20] and kept[44, 44]
    assert postprocess(prob, 0.5, small)[20, 20]


def test_postprocess_drops_components_whose_peak_is_under_the_least_peak() -> None:
    prob = blob((20, 20), 6, 0.4) + blob((44, 44), 3, 0.3) + blob((44, 44), 1, 0.6)
    assert postprocess(prob, 0.25, 0, 0.0)[20, 20]  # no peak rule
    kept = postprocess(prob, 0.25, 0, 0.5)
    assert not kept[20, 20] and kept[44, 44] and kept[44, 46]  # the whole component of a sure peak is kept
    assert postprocess(prob, 0.25, 0, 0.2).sum() == (prob >= 0.25).sum()  # a peak under the threshold does nothing


def committed_cards() -> dict[str, dict[str, Any]]:
    """Every committed model card, by model name."""
    cards = Path(__file__).resolve().parents[2] / "training" / "artifacts"
    found = {path.parent.name: json.loads(path.read_text()) for path in cards.glob("*/model_card.json")}
    assert found, "no committed model card"
    return found


def test_committed_models_drop_no_component_over_50_pixels() -> None:
    for name, card in committed_cards().items():
        assert card["min_component_pixels"] <= ps.MAX_MIN_COMPONENT_PIXELS, name


def test_committed_models_meet_the_false_positive_target_on_validation() -> None:
    for name, card in committed_cards().items():
        fp = card["validation_metrics"]["false_positive_lesions_per_patient"]
        assert fp <= ps.MAX_FALSE_POSITIVES_PER_PATIENT, name
