"""Discovering, reading and splitting a brain MRI slice dataset laid out as the public LGG release.

Layout: one folder per patient; in it ``<case>_<n>.<ext>`` beside ``<case>_<n>_mask.<ext>`` with ext ``tif``,
``tiff``, ``png`` or ``jpg``. Patient folders may sit at any depth under the data root. Masks are read by the one
rule of ``brainmets.imaging.masks``: any non-zero pixel is lesion (0/1, 0/255, 0/65535), above half range in a JPEG.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from brainmets.imaging.decode import read_image, read_mask

LOGGER = logging.getLogger(__name__)
IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
_MASK_RE = re.compile(r"^(?P<case>.+)_(?P<n>\d+)_mask$")


@dataclass(frozen=True)
class SlicePaths:
    image: Path
    mask: Path
    index: int


@dataclass
class Patient:
    """One patient's slices in acquisition order."""

    patient_id: str
    slices: list[SlicePaths] = field(default_factory=list)


@dataclass
class PatientVolume:
    """A patient's slices read into memory: images keep their own intensity units and size."""

    patient_id: str
    images: list[np.ndarray]
    masks: list[np.ndarray]

    @property
    def lesion_slices(self) -> int:
        return sum(bool(m.any()) for m in self.masks)


def discover_patients(root: str | Path) -> list[Patient]:
    """Every patient folder under ``root`` that holds at least one image/mask pair, sorted by id."""
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"data folder {base} does not exist")
    by_folder: dict[Path, Patient] = {}
    for mask_path in base.rglob("*_mask.*"):
        if mask_path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        match = _MASK_RE.match(mask_path.stem)
        if not match:
            continue
        image_path = _find_image(mask_path.parent, f"{match['case']}_{match['n']}")
        if image_path is None:
            LOGGER.warning("mask %s has no image beside it; skipped", mask_path)
            continue
        folder = mask_path.parent
        patient = by_folder.setdefault(folder, Patient(folder.name))
        patient.slices.append(SlicePaths(image_path, mask_path, int(match["n"])))
    if not by_folder:
        raise FileNotFoundError(f"no <case>_<n>.<ext> / <case>_<n>_mask.<ext> pairs found under {base}")
    patients = sorted(by_folder.values(), key=lambda p: p.patient_id)
    for patient in patients:
        patient.slices.sort(key=lambda s: s.index)
    return patients


def _find_image(folder: Path, stem: str) -> Path | None:
    for ext in IMAGE_EXTENSIONS:
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_patient(patient: Patient) -> PatientVolume:
    images = [read_image(s.image) for s in patient.slices]
    masks = [read_mask(s.mask) for s in patient.slices]
    for s, image, mask in zip(patient.slices, images, masks, strict=True):
        if image.shape != mask.shape:
            raise ValueError(f"{s.mask.name} is {mask.shape} but its image is {image.shape}")
    return PatientVolume(patient.patient_id, images, masks)


def read_patients(patients: Iterable[Patient], progress: bool = True) -> list[PatientVolume]:
    items = list(patients)
    return [read_patient(p) for p in tqdm(items, desc="reading", unit="patient", disable=not progress)]


def read_subset(root: str | Path, patient_ids: Iterable[str], progress: bool = True) -> list[PatientVolume]:
    """The volumes of the named patients under ``root`` (a split's validation patients, say), in folder order."""
    wanted = set(patient_ids)
    return read_patients([p for p in discover_patients(root) if p.patient_id in wanted], progress)


@dataclass(frozen=True)
class Split:
    seed: int
    train: list[str]
    val: list[str]
    test: list[str]

    def check_disjoint(self) -> None:
        sets = {"train": set(self.train), "val": set(self.val), "test": set(self.test)}
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = sets[a] & sets[b]
            if shared:
                raise ValueError(f"patients in both {a} and {b}: {sorted(shared)}")

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "train": self.train, "val": self.val, "test": self.test}, indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Split:
        raw = json.loads(Path(path).read_text())
        split = cls(int(raw.get("seed", 0)), list(raw["train"]), list(raw["val"]), list(raw["test"]))
        split.check_disjoint()
        return split


_INSTITUTION_RE = re.compile(r"^TCGA_(?P<site>[A-Z0-9]{2})_")


def institution_of(patient_id: str) -> str:
    """The contributing site of a TCGA patient id (``TCGA_<site>_<patient>_<date>``), else ``unknown``."""
    match = _INSTITUTION_RE.match(patient_id)
    return match["site"] if match else "unknown"


def split_patients(
    patient_ids: Iterable[str], seed: int = 0, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> Split:
    """Seeded split by patient (never by slice: one patient's slices are strongly correlated)."""
    ids = sorted(set(patient_ids))
    if len(ids) < 3:
        raise ValueError(f"need at least 3 patients to split into train, val and test, got {len(ids)}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    random.Random(seed).shuffle(ids)
    n_val = max(1, round(fractions[1] * len(ids)))
    n_test = max(1, round(fractions[2] * len(ids)))
    n_train = len(ids) - n_val - n_test
    split = Split(seed, sorted(ids[:n_train]), sorted(ids[n_train : n_train + n_val]), sorted(ids[n_train + n_val :]))
    split.check_disjoint()
    return split
