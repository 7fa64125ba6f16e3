"""2.5D input: neighbours as channels in training and prediction, never across patients, and lone slices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from brainmets.imaging.neighbours import alone, neighbour_indices, with_neighbours
from brainmets.inference import ModelCard, Segmenter
from brainmets.networks import build_model
from tests.synthetic import make_slice, write_dataset
from training import train
from training.augment import drop_context, gaussian_blur
from training.slices import SliceTensors
from training.warm_start import inflate_input_channels


def test_neighbours_are_ordered_low_to_high_and_repeat_the_end_slices() -> None:
    assert neighbour_indices(4, 1).tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]
    assert neighbour_indices(1, 2).tolist() == [[0, 0, 0, 0, 0]]
    assert neighbour_indices(3, 0).tolist() == [[0], [1], [2]]
    stack = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 2)
    assert with_neighbours(stack, 1)[:, :, 0, 0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 2]]
    assert alone(stack, 1)[:, :, 0, 0].tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    with pytest.raises(ValueError, match="single-channel"):
        with_neighbours(torch.zeros(2, 3, 4, 4), 1)


def test_training_inputs_never_take_a_neighbour_from_another_patient() -> None:
    images = torch.arange(5.0).view(5, 1, 1, 1).expand(5, 1, 8, 8).contiguous()  # each slice holds its index
    data = SliceTensors(images, torch.zeros(5, 1, 8, 8), ["a", "a", "a", "b", "b"], context=1)
    inputs = data.inputs(torch.tensor([0, 2, 3, 4]))
    assert inputs.shape == (4, 3, 8, 8)
    assert inputs[:, :, 0, 0].tolist() == [[0, 0, 1], [1, 2, 2], [3, 3, 4], [3, 4, 4]]
    flat = SliceTensors(images, torch.zeros(5, 1, 8, 8), ["a", "a", "a", "b", "b"])
    assert torch.equal(flat.inputs(torch.tensor([1, 3])), images[[1, 3]])


def test_context_dropout_makes_every_channel_the_slice_itself() -> None:
    images = torch.stack([torch.full((4, 4), float(c)) for c in range(3)]).expand(6, 3, 4, 4)
    dropped = drop_context(images, 1.0)
    assert torch.equal(dropped, torch.ones_like(images))  # the middle channel, everywhere
    assert torch.equal(drop_context(images, 0.0), images)
    single = torch.randn(6, 1, 4, 4)
    assert drop_context(single, 1.0) is single


def test_blur_treats_each_channel_on_its_own() -> None:
    image = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    blurred = gaussian_blur(image, 1.0)
    for c in range(3):
        torch.testing.assert_close(blurred[:, c : c + 1], gaussian_blur(image[:, c : c + 1], 1.0))


def _segmenter(batch_size: int) -> Segmenter:
    torch.manual_seed(5)
    network = {"widths": [8, 16, 32], "in_channels": 3}
    card = ModelCard(
        name="attention_unet",
        architecture="AttentionUNet",
        version="t",
        network=network,
        input_size=(64, 64),
        in_channels=3,
        context_slices=1,
    )
    return Segmenter(build_model("attention_unet", **network), card, torch.device("cpu"), batch_size=batch_size)


def test_a_volume_is_segmented_with_each_slices_neighbours_whatever_the_batch() -> None:
    rng = np.random.default_rng(0)
    volume = [make_slice(rng)[0] for _ in range(7)]
    whole = _segmenter(16).predict_volume(volume)
    done: list[int] = []
    batched = _segmenter(2).predict_volume(volume, on_batch=done.append)
    assert done == [2, 4, 6, 7]
    for a, b in zip(whole, batched, strict=True):
        np.testing.assert_allclose(a.probability, b.probability, atol=1e-5)
    # The same slices on their own (each its own neighbour) give other answers: the neighbours are used.
    lone = _segmenter(16).predict_batch(volume)
    # (An untrained network's output varies little, but every other path here agrees exactly.)
    assert np.abs(lone[3].probability - whole[3].probability).max() > 1e-4
    # A volume of one repeated slice is exactly that slice uploaded alone.
    repeated = _segmenter(16).predict_volume([volume[3]] * 3)
    np.testing.assert_allclose(repeated[1].probability, lone[3].probability, atol=1e-5)


def test_a_2_5d_model_trains_and_predicts_volumes_and_lone_slices(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_dataset(data, patients=6, slices=8, size=64, seed=4)
    out = tmp_path / "runs" / "attention_unet"
    tiny = ["--widths", "8,16,32", "--input-size", "64", "--batch-size", "8", "--lr", "0.01", "--no-progress"]
    args = ["--model", "attention_unet", "--data", str(data), "--out", str(out), "--epochs", "6"]
    train.main([*args, "--samples-per-epoch", "96", "--no-calibrate", "--set", "context_slices=1", *tiny])
    card = json.loads((out / "model_card.json").read_text())
    assert card["context_slices"] == 1 and card["in_channels"] == 3 and card["network"]["in_channels"] == 3
    assert card["validation_metrics"]["per_patient_dice_mean"] > 0.6
    segmenter = Segmenter.load(out, device="cpu")
    rng = np.random.default_rng(11)
    slices = [make_slice(rng, 80) for _ in range(4)]  # not the training size
    results = segmenter.predict_volume([image for image, _ in slices])
    assert [r.mask.shape for r in results] == [(80, 80)] * 4
    lone = segmenter.predict(slices[0][0])
    assert lone.mask.shape == (80, 80)
    inter = (lone.mask & slices[0][1]).sum()
    assert 2 * inter / (lone.mask.sum() + slices[0][1].sum()) > 0.5

    # Fine-tuning a 2D run from it is refused with the setting to use: a 2.5D kernel has no 2D equivalent.
    second = tmp_path / "runs-2d" / "attention_unet"
    with pytest.raises(ValueError, match="context_slices=1"):
        train.main([*args[:5], str(second), "--epochs", "1", "--init-from", str(out), "--no-calibrate", *tiny])


@pytest.mark.parametrize("name", ["unetpp", "attention_unet"])
def test_a_2d_network_starts_its_2_5d_twin_computing_exactly_what_it_did(name: str) -> None:
    torch.manual_seed(2)
    flat = build_model(name, widths=[8, 16, 32]).eval()
    with torch.no_grad():  # BatchNorm statistics away from their defaults, as in a trained network
        for module in flat.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    twin = build_model(name, widths=[8, 16, 32], in_channels=3).eval()
    twin.load_state_dict(inflate_input_channels(flat.state_dict(), twin.state_dict()))
    stack = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(twin(stack), flat(stack[:, 1:2]))
    inflated = [w for w in twin.state_dict().values() if w.dim() == 4 and w.shape[1] == 3]
    assert len(inflated) == 1  # only the input convolution reads the slices
    assert inflated[0][:, [0, 2]].abs().sum() == 0
    # A 2.5D network cannot start a wider one, and other networks are refused by name.
    wider = build_model(name, widths=[8, 16, 32], in_channels=5)
    with pytest.raises(ValueError, match="cannot start"):
        inflate_input_channels(twin.state_dict(), wider.state_dict())
    with pytest.raises(ValueError, match="not the same network"):
        inflate_input_channels(flat.state_dict(), build_model(name, widths=[8, 16]).state_dict())


def test_a_2_5d_run_fine_tunes_a_2d_artifact(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_dataset(data, patients=6, slices=8, size=64, seed=4)
    tiny = ["--widths", "8,16,32", "--input-size", "64", "--batch-size", "8", "--lr", "0.01", "--no-progress"]
    flat, deep = tmp_path / "runs" / "unetpp", tmp_path / "runs-2.5d" / "unetpp"
    common = ["--model", "unetpp", "--data", str(data), "--samples-per-epoch", "96", "--no-calibrate", *tiny]
    train.main([*common, "--out", str(flat), "--epochs", "6"])
    start = json.loads((flat / "model_card.json").read_text())
    train.main([*common, "--out", str(deep), "--epochs", "1", "--init-from", str(flat), "--set", "context_slices=1"])
    card = json.loads((deep / "model_card.json").read_text())
    assert card["in_channels"] == 3 and card["context_slices"] == 1
    assert card["recipe"]["initialised_from"]["version"] == start["version"]
    # One epoch from the 2D weights keeps what they learnt (a random 2.5D start scores near zero after one).
    assert card["validation_metrics"]["per_patient_dice_mean"] > 0.5
