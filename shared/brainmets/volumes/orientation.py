"""Between the uploaded grid and the axial slices the networks see.

Volumes are turned to the closest canonical (RAS+) orientation by flips and axis swaps only (no resampling), so
every output can be turned back onto the uploaded grid exactly. Slice ``k`` is canonical ``z = k`` (inferior
first); a slice image has anterior at the top and the patient's right on the left (radiological view, as the
training slices are shown).
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform

_RAS = axcodes2ornt("RAS")


def _to_ras(affine: np.ndarray) -> np.ndarray:
    return ornt_transform(io_orientation(affine), _RAS)


def to_canonical(array: np.ndarray, affine: np.ndarray, copy: bool = True) -> np.ndarray:
    """The array on the uploaded grid as canonical ``(x, y, z)``: a contiguous copy, or with ``copy=False`` a
    view of ``array`` (flips and axis swaps) where only a few slices will be read."""
    canonical = apply_orientation(array, _to_ras(affine))
    return np.ascontiguousarray(canonical) if copy else canonical


def from_canonical(array: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """A canonical array back on the grid of ``affine`` (the inverse of ``to_canonical``)."""
    return np.ascontiguousarray(apply_orientation(array, ornt_transform(_RAS, io_orientation(affine))))


def canonical_affine(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The affine of the canonical array: canonical voxel indices to the same millimetres."""
    return affine @ inv_ornt_aff(_to_ras(affine), shape)


def axial_slice(canonical: np.ndarray, k: int) -> np.ndarray:
    """Slice ``k`` as an image ``(rows, columns)``: rows anterior to posterior, columns patient right to left."""
    return canonical[::-1, ::-1, k].T


def stack_axial(slices: list[np.ndarray]) -> np.ndarray:
    """Slice images back into a canonical ``(x, y, z)`` array (the inverse of ``axial_slice``)."""
    return np.stack([plane.T[::-1, ::-1] for plane in slices], axis=-1)
