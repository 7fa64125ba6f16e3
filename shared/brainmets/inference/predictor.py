"""The one path from pixels to mask: evaluation and the workers both call ``Segmenter``'s predict methods."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from brainmets.imaging.neighbours import alone, neighbour_indices
from brainmets.imaging.preprocess import prepare_batch, resize_batch
from brainmets.inference.artifact import ModelCard, load_model
from brainmets.inference.postprocess import postprocess, postprocess_stack
from brainmets.precision import autocast_dtype, select_device


@dataclass(frozen=True)
class SegmentationResult:
    """One slice's prediction at the slice's original size."""

    probability: np.ndarray  # float32 (H, W) in [0, 1]
    mask: np.ndarray  # bool (H, W)
    attention: np.ndarray | None = None  # float32 (H, W) in [0, 1], the finest attention gate, if any


class Segmenter:
    """A loaded model plus its preprocessing and post-processing.

    Args:
        model: the network, in eval mode.
        card: its model card (input size, normalisation, threshold, post-processing).
        device: where it runs.
        batch_size: slices per forward pass.
    """

    def __init__(self, model: nn.Module, card: ModelCard, device: torch.device, batch_size: int = 16) -> None:
        self.model = model.to(device).eval()
        self.card = card
        self.device = device
        self.batch_size = batch_size
        self.autocast_dtype = autocast_dtype(device)
        if device.type == "cpu":
            self.model = self.model.to(memory_format=torch.channels_last)

    @classmethod
    def load(cls, artifact_dir: str | Path, device: str = "auto", batch_size: int = 16) -> Segmenter:
        dev = select_device(device)
        model, card = load_model(artifact_dir, dev)
        return cls(model, card, dev, batch_size)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def has_attention(self) -> bool:
        return hasattr(self.model, "forward_with_attention")

    def predict(self, image: np.ndarray, with_attention: bool = False) -> SegmentationResult:
        """Segment one 2D slice of any size."""
        return self.predict_batch([image], with_attention=with_attention)[0]

    def predict_batch(self, images: Sequence[np.ndarray], with_attention: bool = False) -> list[SegmentationResult]:
        """Segment unrelated slices of any sizes (single uploads); each result has its own slice's size.

        A 2.5D model sees each slice as its own neighbours: there are none to give it.
        """
        return self._predict(images, in_order=False, with_attention=with_attention)

    def predict_volume(
        self,
        images: Sequence[np.ndarray],
        with_attention: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[SegmentationResult]:
        """Segment a volume's consecutive slices, in order; a 2.5D model sees each slice's neighbours.

        ``on_batch(done)`` is called after each forward pass with the number of slices segmented so far.
        """
        return self._predict(images, in_order=True, with_attention=with_attention, on_batch=on_batch)

    @torch.inference_mode()
    def _predict(
        self,
        images: Sequence[np.ndarray],
        in_order: bool,
        with_attention: bool,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[SegmentationResult]:
        results: list[SegmentationResult] = []
        size = tuple(self.card.input_size)
        context, norm = self.card.context_slices, self.card.normalization
        neighbours = neighbour_indices(len(images), context) if in_order else None
        for start in range(0, len(images), self.batch_size):
            chunk = [np.asarray(im) for im in images[start : start + self.batch_size]]
            if neighbours is None:
                batch = alone(prepare_batch(chunk, size, norm), context)
            else:
                # Only the slices this batch and its neighbours span are prepared, so memory stays per batch.
                rows = neighbours[start : start + len(chunk)]
                first, last = int(rows.min()), int(rows.max())
                span = prepare_batch([np.asarray(im) for im in images[first : last + 1]], size, norm)
                batch = span[:, 0][rows - first]
            probs, attention = self._forward(batch.to(self.device), with_attention and self.has_attention)
            for k, original in enumerate(chunk):
                shape = original.shape[-2:]
                prob = resize_batch(probs[k : k + 1], shape)[0, 0].clamp_(0, 1).numpy()
                att = None
                if attention is not None:
                    att = resize_batch(attention[k : k + 1], shape)[0, 0].clamp_(0, 1).numpy()
                results.append(SegmentationResult(prob, self.postprocess(prob), att))
            if on_batch is not None:
                on_batch(len(results))
        return results

    def _forward(self, batch: torch.Tensor, with_attention: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.device.type == "cpu":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            if with_attention:
                logits, alphas = self.model.forward_with_attention(batch)  # type: ignore[operator]
                attention = resize_batch(alphas[0].float(), tuple(batch.shape[-2:]))
            else:
                logits, attention = self.model(batch), None
            probs = torch.sigmoid(logits.float())
            if self.card.flip_averaging:
                # Brains are close to mirror-symmetric and training flips them: the mirrored view is a second opinion.
                mirrored = torch.sigmoid(self.model(batch.flip(-1)).float()).flip(-1)
                probs = (probs + mirrored) / 2
        return probs.cpu(), None if attention is None else attention.cpu()

    def postprocess(self, probability: np.ndarray) -> np.ndarray:
        card = self.card
        return postprocess(probability, card.threshold, card.min_component_pixels, card.min_component_peak)

    def volume_mask(self, results: Sequence[SegmentationResult]) -> np.ndarray:
        """A volume's mask, slices first, from ``predict_volume``'s results: every rule of the card, the lesion-wide
        peak and the 3D step included (each result's own ``mask`` has only the slice rules)."""
        card = self.card
        if not results:
            raise ValueError("a volume needs at least one slice")
        return postprocess_stack(
            np.stack([r.probability for r in results]),
            card.threshold,
            card.min_component_pixels,
            card.min_component_peak,
            card.volume_peak,
            card.min_component_voxels,
        )

    def timed_predict(self, image: np.ndarray, with_attention: bool = False) -> tuple[SegmentationResult, float]:
        """Prediction and its wall time in milliseconds (preprocessing included)."""
        start = time.perf_counter()
        result = self.predict(image, with_attention)
        return result, (time.perf_counter() - start) * 1000.0
