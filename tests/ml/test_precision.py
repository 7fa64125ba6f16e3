"""One precision rule for training, prediction and the benchmark: bf16 only where the CPU computes it natively."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import brainmets.precision as precision
from brainmets.inference import ModelCard, Segmenter
from brainmets.networks import build_model
from training.config import preset_config
from training.slices import SliceTensors
from training.trainer import Trainer

CPU = torch.device("cpu")


def tiny_trainer(tmp_path: Path, **overrides: object) -> Trainer:
    config = preset_config("attention_unet", "cpu", widths=(4, 8), input_size=16, patch_size=16, **overrides)
    images = torch.randn(4, 1, 16, 16)
    masks = (torch.rand(4, 1, 16, 16) > 0.8).float()
    data = SliceTensors(images, masks, ["a", "a", "b", "b"])
    return Trainer(config, data, data, tmp_path, CPU)


def tiny_segmenter() -> Segmenter:
    card = ModelCard(name="attention_unet", architecture="AttentionUNet", version="t", network={"widths": [4, 8]},
                     input_size=(16, 16))  # fmt: skip
    return Segmenter(build_model("attention_unet", widths=[4, 8]), card, CPU)


@pytest.mark.parametrize("native", [False, True])
def test_trainer_and_predictor_follow_the_cpu_rule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, native: bool
) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    expected = torch.bfloat16 if native else None
    assert tiny_trainer(tmp_path).amp_dtype is expected
    assert tiny_segmenter().autocast_dtype is expected
    assert tiny_trainer(tmp_path, amp=False).amp_dtype is None  # fp32 can always be forced


def test_the_trainer_never_uses_emulated_bf16_on_this_machine(tmp_path: Path) -> None:
    """On a CPU without native bf16 kernels (AVX2 only) bf16 is emulated and ten times slower than fp32."""
    trainer = tiny_trainer(tmp_path)
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        assert trainer.amp_dtype is None and trainer.precision == "fp32"
    else:
        assert trainer.amp_dtype is torch.bfloat16 and trainer.precision == "bf16"


def test_a_training_step_runs_in_the_chosen_precision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    trainer = tiny_trainer(tmp_path)
    seen: list[torch.dtype] = []
    trainer.model.head.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    images, masks = trainer.next_batch(torch.tensor([[0, 1], [2, 0]]))
    trainer.train_step(images, masks)
    assert seen == [torch.float32]


def test_describe_names_the_cpu_and_its_precision() -> None:
    info = precision.describe(CPU)
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["precision"] in ("fp32", "bf16") and info["cpu"]
