"""The model catalogue without PyTorch: model names, display names, and trained artifacts' cards as data.

The API roles (gateway, results API, migration job, accounts command) must know which models exist and what
their cards say, never how to run them; importing ``brainmets.networks`` for that would load torch, seconds of
import and hundreds of MB per replica. ``brainmets.networks`` builds the networks under these same names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

MODEL_NAMES: tuple[str, ...] = ("unetpp", "attention_unet")
DISPLAY_NAMES: dict[str, str] = {"unetpp": "U-Net++", "attention_unet": "Attention U-Net"}

CARD_FILE = "model_card.json"
WEIGHTS_FILE = "weights.safetensors"
DEFAULT_ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "training" / "artifacts"


class TrainingData(BaseModel):
    """What a model was trained on: a model sees best what it was trained on, and readers must know it."""

    sequence: str = Field(default="FLAIR", description="the MRI sequence of the training slices")
    plane: str = "axial"
    in_plane_size: tuple[int, int] | None = Field(default=None, description="pixels of the training slices")
    dataset: str | None = None
    institutions: list[str] = Field(default_factory=list)
    patients: int | None = Field(default=None, description="patients whose slices trained the network")
    slices: int | None = None


def card_paths(root: str | Path | None = None) -> list[Path]:
    """Every model card under ``root`` (default: the committed ``training/artifacts``) with weights beside it."""
    base = Path(root) if root is not None else DEFAULT_ARTIFACTS_DIR
    return [path for path in sorted(base.glob(f"**/{CARD_FILE}")) if (path.parent / WEIGHTS_FILE).is_file()]


def find_cards(root: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The card (as JSON data) of every model folder under ``root`` that also holds weights, by model name.

    Raises ``OSError`` or ``ValueError`` for an unreadable card.
    """
    cards: dict[str, dict[str, Any]] = {}
    for card_path in card_paths(root):
        card = json.loads(card_path.read_text())
        if not isinstance(card, dict) or not isinstance(card.get("name"), str):
            raise ValueError(f"{card_path} has no model name")
        cards[card["name"]] = card
    return cards
