"""NIfTI volumes as evaluation patients, cut into axial slices exactly as the workers cut them.

Layouts (one folder per case, at any depth under the data root):
``<case>/<case>_flair.nii.gz`` with ``<case>_seg.nii.gz`` (BraTS-style), or ``<case>/image.nii.gz`` with
``<case>/mask.nii.gz`` (``.nii`` too). Each volume is turned to its closest canonical orientation and sliced by
``brainmets.volumes.orientation``, so evaluation scores the slices the service segments. Label > 0 is lesion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brainmets.volumes.limits import VolumeLimits
from brainmets.volumes.nifti import mask_from_volume, read_nifti, same_grid
from brainmets.volumes.orientation import axial_slice, to_canonical
from training.data import PatientVolume

# Research volumes are trusted local files: limits only against a mistaken path to something huge.
LIMITS = VolumeLimits(max_bytes=2**33, max_slices=4096, max_voxels=2**30, max_zip_members=0, max_zip_bytes=0)
_SUFFIXES = (".nii.gz", ".nii")


@dataclass(frozen=True)
class NiftiCase:
    patient_id: str
    image: Path
    mask: Path


def _first(folder: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        for suffix in _SUFFIXES:
            if (folder / f"{stem}{suffix}").is_file():
                return folder / f"{stem}{suffix}"
    return None


def discover_nifti_cases(root: str | Path) -> list[NiftiCase]:
    """Every case folder under ``root`` in one of the two layouts, sorted by id; empty when there is none."""
    cases = []
    for folder in sorted({p.parent for suffix in _SUFFIXES for p in Path(root).rglob(f"*{suffix}")}):
        image = _first(folder, (f"{folder.name}_flair", "image"))
        mask = _first(folder, (f"{folder.name}_seg", "mask"))
        if image is not None and mask is not None:
            cases.append(NiftiCase(folder.name, image, mask))
    return sorted(cases, key=lambda case: case.patient_id)


def read_nifti_case(case: NiftiCase) -> PatientVolume:
    """The case's axial slices (canonical orientation, inferior first) and their masks."""
    image = read_nifti(case.image.read_bytes(), LIMITS, case.image.name)
    truth = read_nifti(case.mask.read_bytes(), LIMITS, case.mask.name)
    if not same_grid(image, truth):
        raise ValueError(f"{case.mask} is not on the grid of {case.image} (shape or affine differ)")
    canonical = to_canonical(image.data, image.affine)
    mask = to_canonical(mask_from_volume(truth), image.affine)
    slices = range(canonical.shape[2])
    return PatientVolume(
        case.patient_id,
        [axial_slice(canonical, k).copy() for k in slices],
        [axial_slice(mask, k).copy() for k in slices],
    )
