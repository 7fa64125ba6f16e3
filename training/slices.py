"""Patients' slices as model-size tensors in memory, and the lesion-aware sampler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from brainmets.imaging.preprocess import NormalizationConfig, prepare_batch, resize_batch
from training.data import PatientVolume


@dataclass
class SliceTensors:
    """Normalised images ``(N, 1, S, S)``, masks ``(N, 1, S, S)`` in {0, 1}, and each slice's patient."""

    images: torch.Tensor
    masks: torch.Tensor
    patient_of: list[str]

    @property
    def lesion(self) -> torch.Tensor:
        return self.masks.flatten(1).amax(1) > 0

    def __len__(self) -> int:
        return self.images.shape[0]


def to_tensors(volumes: Sequence[PatientVolume], size: int, norm: NormalizationConfig) -> SliceTensors:
    images, masks, owners = [], [], []
    for vol in volumes:
        images.append(prepare_batch(vol.images, (size, size), norm))
        stack = torch.from_numpy(np.stack([m.astype(np.float32) for m in vol.masks]))[:, None]
        # Bilinear then re-binarised keeps thin lesion edges better than nearest when shrinking.
        masks.append((resize_batch(stack, (size, size)) > 0.5).float())
        owners += [vol.patient_id] * len(vol.images)
    return SliceTensors(torch.cat(images), torch.cat(masks), owners)


def sample_epoch(lesion: torch.Tensor, n: int, lesion_fraction: float, gen: torch.Generator) -> torch.Tensor:
    """Indices for one epoch: ``lesion_fraction`` of them drawn from lesion slices, the rest from the others."""
    with_lesion = torch.nonzero(lesion).flatten()
    without = torch.nonzero(~lesion).flatten()
    if len(with_lesion) == 0 or len(without) == 0:
        return torch.randint(len(lesion), (n,), generator=gen)
    n_lesion = round(n * lesion_fraction)
    picks = torch.cat(
        [
            with_lesion[torch.randint(len(with_lesion), (n_lesion,), generator=gen)],
            without[torch.randint(len(without), (n - n_lesion,), generator=gen)],
        ]
    )
    return picks[torch.randperm(n, generator=gen)]
