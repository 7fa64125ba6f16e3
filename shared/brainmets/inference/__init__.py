"""Loading trained model artifacts and the one prediction path from pixels to mask."""

from brainmets.inference.artifact import (
    CARD_FILE,
    WEIGHTS_FILE,
    ModelCard,
    find_artifacts,
    load_model,
    save_artifact,
)
from brainmets.inference.predictor import SegmentationResult, Segmenter
from brainmets.precision import select_device

__all__ = [
    "CARD_FILE",
    "WEIGHTS_FILE",
    "ModelCard",
    "SegmentationResult",
    "Segmenter",
    "find_artifacts",
    "load_model",
    "save_artifact",
    "select_device",
]
