"""The prediction path's flip averaging: the mirrored slice's prediction, mirrored back, averaged in."""

from __future__ import annotations

import numpy as np
import torch

from brainmets.inference import ModelCard, Segmenter
from brainmets.networks import build_model
from tests.synthetic import make_slice


def _segmenter(flip: bool) -> Segmenter:
    torch.manual_seed(3)
    network = {"widths": [8, 16, 32]}
    model = build_model("attention_unet", **network)
    card = ModelCard(
        name="attention_unet",
        architecture="AttentionUNet",
        version="t",
        network=network,
        input_size=(64, 64),
        flip_averaging=flip,
    )
    return Segmenter(model, card, torch.device("cpu"))


def test_flip_averaging_is_the_mean_of_the_slice_and_its_mirror() -> None:
    image, _ = make_slice(np.random.default_rng(0))
    plain, averaged = _segmenter(False), _segmenter(True)
    direct = plain.predict(image).probability
    mirrored = plain.predict(image[:, ::-1].copy()).probability[:, ::-1]
    assert not np.allclose(direct, mirrored, atol=1e-3)  # an untrained network is not symmetric
    result = averaged.predict(image)
    np.testing.assert_allclose(result.probability, (direct + mirrored) / 2, atol=1e-2)
    assert result.mask.shape == image.shape
    # A mirrored slice gets the mirrored answer: the averaged prediction is left-right equivariant.
    np.testing.assert_allclose(
        averaged.predict(image[:, ::-1].copy()).probability[:, ::-1], result.probability, atol=1e-2
    )


def test_attention_maps_come_from_the_slice_as_given() -> None:
    image, _ = make_slice(np.random.default_rng(1))
    with_flip = _segmenter(True).predict(image, with_attention=True).attention
    without = _segmenter(False).predict(image, with_attention=True).attention
    assert with_flip is not None and without is not None
    np.testing.assert_allclose(with_flip, without, atol=1e-6)
