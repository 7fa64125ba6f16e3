"""Typed training configuration and the two presets (``cpu`` and ``gpu``)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from brainmets.imaging.neighbours import channels_for
from brainmets.imaging.preprocess import NormalizationConfig
from training.augment import AugmentConfig


class TrainConfig(BaseModel):
    """Everything that defines a training run; saved beside the run and in the model card's recipe."""

    model: str
    preset: str = "cpu"
    widths: tuple[int, ...] = (16, 32, 64, 128, 256)
    input_size: int = Field(default=256, description="slices are held and predicted at this size (native: 256)")
    patch_size: int | None = Field(default=128, description="training patch side; None trains on whole slices")
    context_slices: int = Field(
        default=0, ge=0, description="2.5D: neighbouring slices on each side as extra input channels (0: 2D)"
    )
    batch_size: int = 16
    epochs: int = 30
    samples_per_epoch: int | None = Field(default=None, description="None: the number of training slices")
    lr: float = 2e-3
    weight_decay: float = 1e-5
    warmup_epochs: float = 0.5
    schedule: Literal["cosine", "poly"] = "cosine"
    min_lr_ratio: float = 0.02
    loss: Literal["dice", "dice_bce"] = "dice_bce"
    small_lesion_boost: float = Field(
        default=1.0,
        ge=1,
        description="BCE weight of a lesion pixel: min(this, 1000 px / its lesion's area), so small lesions count "
        "up to this many times more (training.losses.small_lesion_weights); 1: off",
    )
    deep_supervision: bool | None = Field(
        default=None,
        description="a loss on every decoder level's head as well as the last; None: the architecture's default "
        "(on for U-Net++, off for Attention U-Net, as their published versions were trained)",
    )
    # Halving each shallower head scored +0.019 over the paper's equal weights in the ablation (validation).
    deep_supervision_weights: Literal["equal", "halving"] = "halving"
    ema_decay: float | None = Field(default=0.999, description="weight EMA for validation and export; None: off")
    lesion_fraction: float = Field(default=0.5, ge=0, le=1, description="share of each batch centred on a lesion")
    lesion_sampling: Literal["slices", "lesions"] = Field(
        default="slices",
        description="how that share is drawn: every lesion slice alike, or every 3D lesion alike however many "
        "slices it spans (training.slices.SliceTensors.lesion_weights)",
    )
    patience: int | None = Field(default=None, description="early stop after this many epochs without gain")
    val_every: int = Field(default=1, ge=1, description="validate every this many epochs (and at the last)")
    amp: bool = Field(default=True, description="reduced precision where brainmets.precision allows it")
    channels_last: bool = True
    compile: bool = Field(default=False, description="torch.compile the training network")
    seed: int = 0
    num_threads: int | None = None
    val_batch_size: int = 16
    threshold: float = 0.5
    max_minutes: float | None = Field(default=None, description="wall-time budget; the schedule is fitted to it")
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    normalization: NormalizationConfig = Field(default_factory=NormalizationConfig)

    def network_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "in_channels": channels_for(self.context_slices),
            "out_channels": 1,
            "widths": list(self.widths),
        }
        if self.model == "unetpp":
            kwargs["deep_supervision"] = self.deep_supervision is not False
            kwargs["inference_head"] = "last"
        elif self.deep_supervision:
            # Only where asked for: the published Attention U-Net cards were built without these heads.
            kwargs["deep_supervision"] = True
        return kwargs

    @property
    def train_size(self) -> int:
        """The side of the training patches: never larger than the slices themselves."""
        return min(self.patch_size or self.input_size, self.input_size)


PRESETS: dict[str, dict[str, Any]] = {
    # Two CPU cores, under three hours for both models: half the papers' widths, 128 x 128 patches cut from the
    # native 256 x 256 slices (whole slices at prediction), bf16 where the CPU computes it natively; 30 epochs of
    # 200 steps (6,000 steps, about 41 passes over the training slices), validated every other epoch.
    # training/train_all.sh then fine-tunes these weights on whole slices (its second stage).
    "cpu": {
        "widths": (16, 32, 64, 128, 256),
        "input_size": 256,
        "patch_size": 128,
        "batch_size": 16,
        "epochs": 30,
        "samples_per_epoch": 3200,
        "lr": 2e-3,
        "val_every": 2,
    },
    # The full-quality recipe: the papers' widths, trained on whole 256 x 256 slices.
    "gpu": {
        "widths": (32, 64, 128, 256, 512),
        "input_size": 256,
        "patch_size": None,
        "batch_size": 32,
        "epochs": 100,
        "lr": 2e-3,
        "samples_per_epoch": 3200,
    },
}


def preset_config(model: str, preset: str, **overrides: Any) -> TrainConfig:
    if preset not in PRESETS:
        raise KeyError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(model=model, preset=preset, **values)


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """``KEY=VALUE`` overrides (dotted keys for nested fields, JSON values), validated as a whole."""
    values = config.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw  # a bare word such as poly or halving
        target = values
        *parents, leaf = key.split(".")
        for parent in parents:
            if not isinstance(target.get(parent), dict):
                raise ValueError(f"override {item!r}: {parent!r} is not a group of settings")
            target = target[parent]
        if leaf not in target:
            raise ValueError(f"override {item!r}: no setting {key!r}")
        target[leaf] = value
    return TrainConfig.model_validate(values)
