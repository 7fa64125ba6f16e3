"""A model artifact: ``weights.safetensors`` beside ``model_card.json`` in one folder per model.

The card says everything needed to rebuild the network and feed it (architecture, widths, input size,
normalisation, threshold) and everything a reader wants to know about how it was made and how good it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file
from torch import nn

from brainmets.catalog import CARD_FILE, WEIGHTS_FILE, TrainingData, card_paths
from brainmets.catalog import DEFAULT_ARTIFACTS_DIR as DEFAULT_ARTIFACTS_DIR  # the loader's default, re-exported
from brainmets.imaging.preprocess import NormalizationConfig
from brainmets.networks import build_model, count_parameters


class ModelCard(BaseModel):
    """What a model is, how to feed it, how it was trained and how it scores."""

    name: str = Field(description="short model name: unetpp or attention_unet")
    architecture: str
    version: str
    network: dict[str, Any] = Field(description="keyword arguments of build_model")
    input_size: tuple[int, int]
    in_channels: int = 1
    context_slices: int = Field(
        default=0, ge=0, description="2.5D: neighbouring slices on each side given as extra input channels"
    )
    normalization: NormalizationConfig = Field(default_factory=NormalizationConfig)
    threshold: float = 0.5
    min_component_pixels: int = Field(default=0, description="predicted components smaller than this are dropped")
    min_component_peak: float = Field(
        default=0.0,
        description="predicted components whose highest probability is under this are dropped (hysteresis)",
    )
    volume_peak: bool = Field(
        default=False,
        description="volumes: look for min_component_peak over each 3D lesion (26-connected) instead of each slice's"
        " component",
    )
    min_component_voxels: int = Field(
        default=0, description="volumes: 3D components (26-connected) smaller than this are dropped"
    )
    flip_averaging: bool = Field(
        default=False, description="average each prediction with that of the left-right mirrored slice"
    )
    parameters: int = 0
    recipe: dict[str, Any] = Field(default_factory=dict)
    trained_on: TrainingData = Field(default_factory=TrainingData)
    epochs: int = 0
    best_epoch: int | None = None
    training_time_s: float | None = None
    hardware: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    validation_metrics: dict[str, Any] = Field(default_factory=dict)
    test_metrics: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None
    git_commit: str | None = None


def save_artifact(model: nn.Module, card: ModelCard, out_dir: str | Path) -> Path:
    """Write weights and card into ``out_dir``; the card's parameter count is filled in."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE), metadata={"name": card.name, "version": card.version})
    card = card.model_copy(update={"parameters": count_parameters(model)})
    write_card(card, out)
    return out


def write_card(card: ModelCard, out_dir: str | Path) -> None:
    Path(out_dir, CARD_FILE).write_text(json.dumps(card.model_dump(mode="json"), indent=2) + "\n")


def read_card(artifact_dir: str | Path) -> ModelCard:
    path = Path(artifact_dir, CARD_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"no {CARD_FILE} in {artifact_dir}: train a model or point to its folder")
    return ModelCard.model_validate_json(path.read_text())


def load_model(artifact_dir: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Rebuild the network from its card and load the weights, in eval mode on ``device``."""
    card = read_card(artifact_dir)
    model = build_model(card.name, **card.network)
    state = load_file(str(Path(artifact_dir, WEIGHTS_FILE)), device="cpu")
    model.load_state_dict(state)
    return model.to(device).eval(), card


def find_artifacts(root: str | Path | None = None, names: list[str] | None = None) -> dict[str, Path]:
    """Model folders under ``root`` (default: the committed ``training/artifacts``), keyed by model name."""
    found: dict[str, Path] = {}
    for card_path in card_paths(root):
        card = read_card(card_path.parent)
        if names is None or card.name in names:
            found[card.name] = card_path.parent
    return found


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
