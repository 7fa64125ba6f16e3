"""Tiny untrained networks saved as real artifacts, so workers load them exactly as trained ones."""

from __future__ import annotations

from pathlib import Path

import torch

from brainmets.inference import ModelCard, save_artifact
from brainmets.networks import build_model

ARCHITECTURES = {"unetpp": "UNetPlusPlus", "attention_unet": "AttentionUNet"}


def make_tiny_artifacts(root: Path, version: str = "test-1") -> Path:
    torch.manual_seed(0)
    for name, architecture in ARCHITECTURES.items():
        network = {"widths": [4, 8, 16]}
        card = ModelCard(
            name=name,
            architecture=architecture,
            version=version,
            network=network,
            input_size=(64, 64),
            test_metrics={"global": {"dice": 0.5}},
        )
        save_artifact(build_model(name, **network), card, root / name)
    return root
