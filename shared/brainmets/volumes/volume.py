"""A volume on its uploaded grid, and the one error every reader raises for input it cannot use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class VolumeRejected(Exception):
    """Input that cannot form one usable volume; ``status_code`` is the HTTP status the gateway answers."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Volume:
    """Voxels ``(i, j, k)`` on the uploaded grid and the affine from voxel indices to RAS+ millimetres."""

    data: np.ndarray
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return tuple(float(s) for s in np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0)))  # type: ignore[return-value]
