"""Tiny model artifacts trained for a few seconds on synthetic slices, so their masks are plausible and differ.

Untrained networks give near-constant masks (all lesion or none); a browser test of overlays needs masks that
follow the lesion. Seeds are fixed, so the artifacts are the same on every run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from brainmets.imaging.preprocess import NormalizationConfig, prepare_batch
from brainmets.inference import ModelCard, save_artifact
from brainmets.inference.artifact import TrainingData
from brainmets.networks import build_model
from tests.synthetic import make_slice

ARCHITECTURES = {"unetpp": "UNetPlusPlus", "attention_unet": "AttentionUNet"}
NETWORK = {"widths": [4, 8, 16], "norm": "instance"}
INPUT_SIZE = (64, 64)
# Shown by the Models view; the browser test reads them back.
TEST_DICE = {"unetpp": 0.812, "attention_unet": 0.798}
# As training/train.py describes the LGG FLAIR slices: native 256 x 256, resized to the input size.
TRAINED_ON = TrainingData(
    sequence="FLAIR",
    plane="axial",
    in_plane_size=(256, 256),
    dataset="lgg-flair",
    institutions=["CS", "DU", "HT"],
    patients=68,
    slices=2548,
)
# One card trained on patches, the other on whole slices, so that the Models view shows both.
PATCH_SIZE = {"unetpp": INPUT_SIZE[0] // 2, "attention_unet": None}


def synthetic_slice(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An 8-bit slice with one bright lesion, and its mask."""
    return make_slice(np.random.default_rng(seed), size=size, lesion=True)


def _train(name: str, images: torch.Tensor, masks: torch.Tensor, steps: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(name, **NETWORK)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    # Lesions are a few percent of the pixels: weigh them up so the networks do not settle on "no lesion".
    pos_weight = torch.tensor(10.0)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(images), masks, pos_weight=pos_weight)
        loss.backward()
        optimizer.step()
    return model.eval()


def write_tiny_artifacts(root: Path, steps: int = 40) -> Path:
    """Train both networks briefly and save them as artifacts under ``root/<model name>``."""
    rng = np.random.default_rng(0)
    pairs = [make_slice(rng, size=INPUT_SIZE[0]) for _ in range(8)]
    images = prepare_batch([image.astype(np.float32) for image, _ in pairs], INPUT_SIZE, NormalizationConfig())
    masks = torch.from_numpy(np.stack([mask for _, mask in pairs])[:, None].astype(np.float32))
    for name, architecture in ARCHITECTURES.items():
        started = time.perf_counter()
        model = _train(name, images, masks, steps)
        card = ModelCard(
            name=name,
            architecture=architecture,
            version="web-test-1",
            network=NETWORK,
            input_size=INPUT_SIZE,
            recipe={"preset": "web-test", "input_size": INPUT_SIZE[0], "patch_size": PATCH_SIZE[name]},
            trained_on=TRAINED_ON,
            epochs=1,
            training_time_s=time.perf_counter() - started,
            # The shape of training/evaluate.py's summary, as training/publish.py records it.
            test_metrics={
                "patients": 3,
                "slices": 60,
                "per_patient_dice_mean": TEST_DICE[name] - 0.05,
                "global": {"dice": TEST_DICE[name], "iou": 0.7, "precision": 0.8, "recall": 0.85, "f1": 0.81},
                "lesion_sensitivity": 0.9,
                "lesion_sensitivity_by_size": {
                    "small": {"true": 12, "detected": 9, "sensitivity": 0.75},
                    "medium": {"true": 20, "detected": 19, "sensitivity": 0.95},
                    "large": {"true": 8, "detected": 8, "sensitivity": 1.0},
                },
                "hd95_mean": 4.25,
                "inference_ms_per_slice": 3.5,
            },
            validation_metrics={
                "per_patient_dice_mean": TEST_DICE[name] + 0.01,
                # Only U-Net++'s card holds the held-out figure, as a card calibrated before it existed would not.
                **({"postprocessing_search": {"held_out": {"per_patient_dice_mean": 0.7}}} if name == "unetpp" else {}),
            },
            hardware={"device": "cpu"},
        )
        save_artifact(model, card, root / name)
    return root
