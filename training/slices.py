"""Patients' slices as model-size tensors in memory, and the lesion-aware sampler of training patches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from scipy import ndimage

from brainmets.imaging.neighbours import channels_for, neighbour_indices
from brainmets.imaging.preprocess import NormalizationConfig, prepare_batch, resize_batch
from training.data import PatientVolume

# The training masks hold a few one-pixel components: drawn as lesions of their own, each would be seen as often as
# a tumour.
MIN_SAMPLED_LESION_VOXELS = 10


@dataclass
class SliceTensors:
    """Normalised images ``(N, 1, S, S)``, masks ``(N, 1, S, S)`` in {0, 1}, and each slice's patient.

    A patient's slices are consecutive and in acquisition order; ``context`` neighbours on each side are given
    as extra channels by ``inputs`` (2.5D), never crossing from one patient into the next.

    ``head_boxes`` holds each slice's head bounding box ``(y0, y1, x0, x1)`` (inclusive) in pixels, where patches
    without a lesion are centred; ``lesion_pixels`` every lesion pixel's ``(y, x)``, indexed per slice by
    ``lesion_offsets``, where patches on a lesion are centred.
    """

    images: torch.Tensor
    masks: torch.Tensor
    patient_of: list[str]
    context: int = 0
    neighbours: torch.Tensor = field(init=False)
    head_boxes: torch.Tensor = field(init=False)
    lesion_pixels: torch.Tensor = field(init=False)
    lesion_offsets: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.neighbours = patient_neighbours(self.patient_of, self.context)
        self.head_boxes = head_boxes(self.images)
        coords = torch.nonzero(self.masks[:, 0] > 0)  # (K, 3): slice, y, x, sorted by slice
        counts = torch.bincount(coords[:, 0], minlength=len(self))
        self.lesion_offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
        self.lesion_pixels = coords[:, 1:].to(torch.int16)

    def inputs(self, index: torch.Tensor) -> torch.Tensor:
        """The network inputs ``(B, 2 * context + 1, S, S)`` of the slices at ``index``."""
        return self.images[:, 0][self.neighbours[index]]

    @property
    def lesion(self) -> torch.Tensor:
        return self.lesion_offsets[1:] > self.lesion_offsets[:-1]

    def lesion_weights(self, by: Literal["slices", "lesions"] = "slices") -> torch.Tensor:
        """Each slice's weight among the lesion picks of ``sample_epoch``.

        ``"slices"``: every lesion slice alike (the lesion marks). ``"lesions"``: each 3D lesion's weight of 1 shared
        among its slices, so that every lesion is drawn equally often however many slices it spans: a satellite on
        one slice as often as the 20-slice tumour beside it, which slice sampling draws 20 times as often.
        Components under ``MIN_SAMPLED_LESION_VOXELS`` are annotation specks, not lesions, and add no weight.
        """
        if by == "slices":
            return self.lesion
        if by != "lesions":
            raise ValueError(f"unknown lesion sampling {by!r}; choose 'slices' or 'lesions'")
        weights = torch.zeros(len(self))
        for start, end in patient_runs(self.patient_of):
            labels, count = ndimage.label(self.masks[start:end, 0].numpy() > 0, structure=np.ones((3, 3, 3), bool))
            # Voxels of each lesion on each slice: (slices, lesions), the background column dropped.
            per_slice = np.stack([np.bincount(plane.ravel(), minlength=count + 1)[1:] for plane in labels])
            on_slice = per_slice > 0
            lesions = per_slice.sum(0) >= MIN_SAMPLED_LESION_VOXELS
            weights[start:end] = torch.from_numpy((on_slice[:, lesions] / on_slice[:, lesions].sum(0)).sum(1))
        return weights

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    def __len__(self) -> int:
        return self.images.shape[0]


def patient_neighbours(patient_of: Sequence[str], context: int) -> torch.Tensor:
    """``(N, 2 * context + 1)`` indices of each slice's neighbours within its own patient, clamped at the ends."""
    parts = [neighbour_indices(end - start, context) + start for start, end in patient_runs(patient_of)]
    return torch.cat(parts) if parts else torch.empty(0, channels_for(context), dtype=torch.long)


def patient_runs(patient_of: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each patient's consecutive slices."""
    runs, start = [], 0
    for end in range(1, len(patient_of) + 1):
        if end == len(patient_of) or patient_of[end] != patient_of[start]:
            runs.append((start, end))
            start = end
    return runs


def head_boxes(images: torch.Tensor, level: float = 0.1, share: float = 0.05) -> torch.Tensor:
    """Each normalised slice's head bounding box: the rows and columns where over ``share`` of the pixels lie
    above ``level`` of the slice's intensity range (robust to background noise); the whole slice if none do."""
    n, _, h, w = images.shape
    lo = images.flatten(1).amin(1).view(n, 1, 1)
    hi = images.flatten(1).amax(1).view(n, 1, 1)
    inside = (images[:, 0] > lo + level * (hi - lo)).float()
    rows, cols = inside.mean(2) > share, inside.mean(1) > share
    boxes = torch.tensor([[0, h - 1, 0, w - 1]]).repeat(n, 1)
    for k in torch.nonzero(rows.any(1) & cols.any(1)).flatten().tolist():
        ys, xs = torch.nonzero(rows[k]).flatten(), torch.nonzero(cols[k]).flatten()
        boxes[k] = torch.tensor([ys[0], ys[-1], xs[0], xs[-1]])
    return boxes


def to_tensors(
    volumes: Sequence[PatientVolume], size: int, norm: NormalizationConfig, context: int = 0
) -> SliceTensors:
    images, masks, owners = [], [], []
    for vol in volumes:
        images.append(prepare_batch(vol.images, (size, size), norm))
        stack = torch.from_numpy(np.stack([m.astype(np.float32) for m in vol.masks]))[:, None]
        # Bilinear then re-binarised keeps thin lesion edges better than nearest when shrinking.
        masks.append((resize_batch(stack, (size, size)) > 0.5).float())
        owners += [vol.patient_id] * len(vol.images)
    return SliceTensors(torch.cat(images), torch.cat(masks), owners, context)


def sample_epoch(lesion: torch.Tensor, n: int, lesion_fraction: float, gen: torch.Generator) -> torch.Tensor:
    """Indices for one epoch: ``lesion_fraction`` of them drawn from lesion slices, the rest from any slice.

    ``lesion`` marks the lesion slices (bool) or weighs them (see ``SliceTensors.lesion_weights``); a lesion slice
    is drawn in proportion to its weight.
    """
    weights = lesion.float()
    with_lesion = torch.nonzero(weights > 0).flatten()
    if len(with_lesion) == 0:
        return torch.randint(len(lesion), (n,), generator=gen)
    n_lesion = round(n * lesion_fraction)
    picks = torch.cat(
        [
            with_lesion[_draw(weights[with_lesion], n_lesion, uniform=lesion.dtype == torch.bool, gen=gen)],
            torch.randint(len(lesion), (n - n_lesion,), generator=gen),
        ]
    )
    focus = torch.cat([torch.ones(n_lesion, dtype=torch.bool), torch.zeros(n - n_lesion, dtype=torch.bool)])
    order = torch.randperm(n, generator=gen)
    return torch.stack([picks[order], focus[order].long()], 1)


def _draw(weights: torch.Tensor, n: int, uniform: bool, gen: torch.Generator) -> torch.Tensor:
    if uniform:  # the stream every run before weighted sampling drew, so that their seeds still reproduce them
        return torch.randint(len(weights), (n,), generator=gen)
    if n == 0:
        return torch.zeros(0, dtype=torch.long)
    return torch.multinomial(weights, n, replacement=True, generator=gen)


def patch_centres(data: SliceTensors, picks: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Continuous ``(y, x)`` pixel centres of the training patches, ``(B, 2)``.

    ``picks`` is ``(B, 2)``: slice index and whether to centre on a lesion (nnU-Net's foreground oversampling).
    A lesion patch is centred on one of the slice's lesion pixels drawn at random, so that small lesions are seen
    as often as large ones; any other patch on a uniform point of the head's bounding box.
    """
    centres = torch.empty(len(picks), 2)
    for row, (index, focus) in enumerate(picks.tolist()):
        start, stop = int(data.lesion_offsets[index]), int(data.lesion_offsets[index + 1])
        if focus and stop > start:
            k = start + int(torch.randint(stop - start, (1,), generator=gen))
            centres[row] = data.lesion_pixels[k].float() + 0.5
        else:
            y0, y1, x0, x1 = data.head_boxes[index].tolist()
            u = torch.rand(2, generator=gen)
            centres[row, 0] = y0 + u[0] * (y1 + 1 - y0)
            centres[row, 1] = x0 + u[1] * (x1 + 1 - x0)
    return centres
