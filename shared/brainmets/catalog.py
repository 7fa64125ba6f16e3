"""The model catalogue without PyTorch: model names, display names, and trained artifacts' cards as data.

The API roles (gateway, results API, migration job, accounts command) must know which models exist and what
their cards say, never how to run them; importing ``brainmets.networks`` for that would load torch, seconds of
import and hundreds of MB per replica. ``brainmets.networks`` builds the networks under these same names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAMES: tuple[str, ...] = ("unetpp", "attention_unet")
DISPLAY_NAMES: dict[str, str] = {"unetpp": "U-Net++", "attention_unet": "Attention U-Net"}
# Models whose results come with an attention map (networks with ``forward_with_attention``).
ATTENTION_MAP_MODELS: frozenset[str] = frozenset({"attention_unet"})

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


class OverlapScores(BaseModel):
    """Overlap with the ground truth, pooled over every pixel of a subset."""

    dice: float | None = None
    iou: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class LesionCount(BaseModel):
    """Lesions of one size class: how many the ground truth holds, how many the model found."""

    true: int
    detected: int
    sensitivity: float | None = Field(default=None, description="detected / true; null when there are none")


class HeldOutScores(BaseModel):
    """Validation patients each scored with the post-processing chosen on the others (leave one patient out):
    the calibrated figures without the optimism of choosing and scoring on the same patients."""

    model_config = ConfigDict(extra="allow")

    patients: int | None = None
    per_patient_dice_mean: float | None = None
    lesion_sensitivity: float | None = None
    false_positive_lesions_per_patient: float | None = None


class PostprocessingSearch(BaseModel):
    """``training.calibrate``'s record of its search in a card's ``validation_metrics``; its choice and grid pass
    through unread."""

    model_config = ConfigDict(extra="allow")

    held_out: HeldOutScores | None = None


class Evaluation(BaseModel):
    """``training.evaluate``'s summary of one subset, as ``training.publish`` records it in a card.

    The one shape of a card's ``test_metrics`` and ``validation_metrics``: the web app reads these fields and no
    other; further fields the evaluation writes pass through.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    patients: int | None = None
    slices: int | None = None
    per_patient_dice_mean: float | None = None
    per_patient_dice_median: float | None = None
    pooled: OverlapScores = Field(default_factory=OverlapScores, alias="global")
    lesion_sensitivity: float | None = None
    lesion_sensitivity_by_size: dict[str, LesionCount] = Field(default_factory=dict)
    false_positive_lesions_per_patient: float | None = None
    hd95_mean: float | None = None
    inference_ms_per_slice: float | None = None
    gflops: float | None = None
    postprocessing_search: PostprocessingSearch | None = None


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
