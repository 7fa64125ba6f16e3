"""The lesion-wide peak rule for volumes: a lesion's faint end slices stay when the network is sure of the lesion
on another slice; a faint lesion of its own still goes. The same rule in the workers' path, the search and the
card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brainmets.inference import Segmenter
from brainmets.inference.postprocess import postprocess, postprocess_stack
from brainmets.inference.predictor import SegmentationResult
from tests.services.artifacts import make_tiny_artifacts
from training import postprocess_search as ps

SHAPE = (5, 32, 32)


def _volume() -> np.ndarray:
    """A lesion on slices 1-3, sure (0.99) only on its middle slice, and a faint blob (0.3) alone on slice 4."""
    p = np.full(SHAPE, 0.001, np.float32)
    p[1, 10:16, 10:16] = 0.3
    p[2, 8:18, 8:18] = 0.99
    p[3, 11:15, 11:15] = 0.3
    p[4, 25:29, 25:29] = 0.3
    return p


def test_the_lesion_keeps_its_faint_end_slices_and_a_faint_blob_alone_goes() -> None:
    p = _volume()
    by_slice = postprocess_stack(p, 0.1, 0, 0.9, volume_peak=False)
    by_lesion = postprocess_stack(p, 0.1, 0, 0.9, volume_peak=True)
    assert by_slice[2].sum() == 100 and not by_slice[[1, 3, 4]].any()
    assert by_lesion[1].sum() == 36 and by_lesion[2].sum() == 100 and by_lesion[3].sum() == 16
    assert not by_lesion[4].any()  # sure nowhere: hysteresis still removes it
    # The smallest-size rule still counts each slice's own pixels.
    assert not postprocess_stack(p, 0.1, 20, 0.9, volume_peak=True)[3].any()


def test_on_one_slice_both_scopes_are_the_slice_rule() -> None:
    p = _volume()[1:2]
    expected = postprocess(p[0], 0.1, 0, 0.9)
    for volume_peak in (False, True):
        assert (postprocess_stack(p, 0.1, 0, 0.9, volume_peak)[0] == expected).all()


def test_a_stack_must_be_three_dimensional() -> None:
    with pytest.raises(ValueError, match="slices x height x width"):
        postprocess_stack(np.zeros((4, 4)), 0.5)


def test_the_segmenter_applies_the_cards_scope_to_a_volume(tmp_path: Path) -> None:
    artifact = make_tiny_artifacts(tmp_path) / "unetpp"
    card_path = artifact / "model_card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "threshold": 0.1, "min_component_peak": 0.9, "volume_peak": True}))
    segmenter = Segmenter.load(artifact, device="cpu")
    results = [SegmentationResult(p, postprocess(p, 0.1, 0, 0.9)) for p in _volume()]
    mask = segmenter.volume_mask(results)
    assert mask.shape == SHAPE and mask[1].sum() == 36 and not mask[4].any()
    segmenter.card = segmenter.card.model_copy(update={"volume_peak": False})
    assert not segmenter.volume_mask(results)[1].any()


def test_the_search_chooses_the_lesion_wide_peak_where_it_keeps_true_end_slices() -> None:
    truths, probabilities = [], []
    for shift in range(3):
        p = np.roll(_volume(), shift * 3, axis=2)
        truth = np.zeros(SHAPE, bool)
        truth[1, 10:16, 10:16] = truth[2, 8:18, 8:18] = truth[3, 11:15, 11:15] = True
        probabilities.append(list(p))
        truths.append(list(np.roll(truth, shift * 3, axis=2)))
    best, grid = ps.search(probabilities, truths)
    assert best["volume_peak"] and best["min_component_peak"] > best["threshold"]
    assert best["dice"] == pytest.approx(1.0) and best["false_positive_lesions_per_patient"] == 0
    # Every peak rule is tried both ways, and without a peak rule the scopes are one setting.
    assert {g["volume_peak"] for g in grid if g["min_component_peak"] > 0} == {False, True}
    assert not any(g["volume_peak"] for g in grid if g["min_component_peak"] == 0)
    held_out = ps.held_out_scores(
        {flip: ps.score_settings(probabilities, truths) for flip in (False, True)}, ["a", "b", "c"]
    )
    assert held_out["per_patient_dice_mean"] == pytest.approx(1.0)
    assert all("over the lesion" in setting for setting in held_out["settings_chosen"])
