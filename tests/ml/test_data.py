"""The loader reads both public layouts, and the split never shares a patient."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.synthetic import write_dataset
from training.data import Split, discover_patients, read_patient, split_patients


@pytest.mark.parametrize("fmt", ["png", "tif", "jpg"])
def test_loader_reads_each_layout(tmp_path: Path, fmt: str) -> None:
    ids = write_dataset(tmp_path / "nested" / "kaggle_3m", patients=2, slices=4, size=32, fmt=fmt)
    patients = discover_patients(tmp_path)
    assert [p.patient_id for p in patients] == ids
    vol = read_patient(patients[0])
    assert len(vol.images) == 4 and vol.images[0].shape == (32, 32) and vol.images[0].ndim == 2
    assert vol.masks[0].dtype == bool and vol.lesion_slices == 3


def test_tiff_and_png_layouts_give_the_same_flair(tmp_path: Path) -> None:
    write_dataset(tmp_path / "png", patients=1, slices=3, size=32, fmt="png", seed=5)
    write_dataset(tmp_path / "tif", patients=1, slices=3, size=32, fmt="tif", seed=5)
    png = read_patient(discover_patients(tmp_path / "png")[0])
    tif = read_patient(discover_patients(tmp_path / "tif")[0])
    for a, b in zip(png.images, tif.images, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(png.masks, tif.masks, strict=True):
        assert np.array_equal(a, b)


def test_slices_are_in_numeric_order(tmp_path: Path) -> None:
    write_dataset(tmp_path, patients=1, slices=12, size=16)
    indices = [s.index for s in discover_patients(tmp_path)[0].slices]
    assert indices == list(range(1, 13))


def test_split_is_seeded_disjoint_and_complete(tmp_path: Path) -> None:
    ids = [f"patient_{i:03d}" for i in range(40)]
    split = split_patients(ids, seed=7)
    assert split == split_patients(reversed(ids), seed=7)
    assert split != split_patients(ids, seed=8)
    assert sorted(split.train + split.val + split.test) == ids
    assert (len(split.train), len(split.val), len(split.test)) == (28, 6, 6)
    split.save(tmp_path / "split.json")
    assert Split.load(tmp_path / "split.json") == split


def test_a_split_naming_a_patient_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"seed": 0, "train": ["a", "b"], "val": ["b"], "test": ["c"]}')
    with pytest.raises(ValueError, match="train and val"):
        Split.load(tmp_path / "bad.json")


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no <case>_<n>"):
        discover_patients(tmp_path)
