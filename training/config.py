"""Typed training configuration and the two presets (``cpu`` and ``gpu``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from brainmets.imaging.preprocess import NormalizationConfig
from training.augment import AugmentConfig


class TrainConfig(BaseModel):
    """Everything that defines a training run; saved beside the run and in the model card's recipe."""

    model: str
    preset: str = "cpu"
    widths: tuple[int, ...] = (16, 32, 64, 128, 256)
    input_size: int = 128
    batch_size: int = 16
    epochs: int = 30
    samples_per_epoch: int | None = Field(default=None, description="None: the number of training slices")
    lr: float = 2e-3
    weight_decay: float = 1e-5
    warmup_epochs: float = 0.5
    min_lr_ratio: float = 0.02
    loss: str = "dice"
    deep_supervision: bool = True
    lesion_fraction: float = Field(default=0.5, ge=0, le=1, description="share of each batch from lesion slices")
    patience: int = 8
    amp: bool = True
    channels_last: bool = True
    seed: int = 0
    num_threads: int | None = None
    val_batch_size: int = 32
    threshold: float = 0.5
    max_minutes: float | None = Field(default=None, description="stop after this much wall time, keep best")
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    normalization: NormalizationConfig = Field(default_factory=NormalizationConfig)

    def network_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"in_channels": 1, "out_channels": 1, "widths": list(self.widths)}
        if self.model == "unetpp":
            kwargs["deep_supervision"] = self.deep_supervision
            kwargs["inference_head"] = "last"
        return kwargs


PRESETS: dict[str, dict[str, Any]] = {
    # Two CPU cores, about an hour for both models: half widths, 128 x 128 inputs, bf16 autocast,
    # 30 epochs of 1,152 sampled slices (about 15 passes over the training slices).
    "cpu": {
        "widths": (16, 32, 64, 128, 256),
        "input_size": 128,
        "batch_size": 16,
        "epochs": 30,
        "samples_per_epoch": 1152,
        "lr": 2e-3,
        "patience": 8,
    },
    # The full-quality recipe: the papers' widths at the dataset's native 256 x 256.
    "gpu": {
        "widths": (32, 64, 128, 256, 512),
        "input_size": 256,
        "batch_size": 16,
        "epochs": 60,
        "lr": 1e-3,
        "patience": 15,
        "samples_per_epoch": 3200,
    },
}


def preset_config(model: str, preset: str, **overrides: Any) -> TrainConfig:
    if preset not in PRESETS:
        raise KeyError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(model=model, preset=preset, **values)
