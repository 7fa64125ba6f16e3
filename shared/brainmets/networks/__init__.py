"""The two segmentation networks and the one place that builds them by name."""

from __future__ import annotations

from typing import Any

from torch import nn

from brainmets.catalog import DISPLAY_NAMES, MODEL_NAMES
from brainmets.networks.attention_unet import AttentionUNet
from brainmets.networks.unet_plus_plus import UNetPlusPlus

ARCHITECTURES: dict[str, type[nn.Module]] = {"unetpp": UNetPlusPlus, "attention_unet": AttentionUNet}
# Keyed by brainmets.catalog.MODEL_NAMES, which names the models without torch (tests/services/test_catalog.py).


def build_model(name: str, **config: Any) -> nn.Module:
    """Build a network by its short name (``unetpp`` or ``attention_unet``) from keyword configuration."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None
    return cls(**config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "ARCHITECTURES",
    "DISPLAY_NAMES",
    "MODEL_NAMES",
    "AttentionUNet",
    "UNetPlusPlus",
    "build_model",
    "count_parameters",
]
