"""A contrast stress test: how a model's masks hold up when the slices look unlike its training data.

``python -m training.stress --data DIR --split FILE [--subset val] [--weights-dir DIR | --artifact DIR ...]``

There is no second sequence in the data set, so other scanners and sequences are approximated by fixed,
documented intensity changes of the validation slices (never the test slices) before the one prediction path:

- ``t2_like``: a V-shaped curve over the head, so that the darkest tissue (CSF on FLAIR) becomes as bright as the
  lesion, as on T2-weighted images;
- ``t1_like``: a curve that rises then falls, so that the lesion turns darker than white matter, as on T1;
- ``gamma_0.5`` and ``gamma_2``: a brighter and a darker scanner response;
- ``low_resolution``: acquired at half the in-plane resolution, then interpolated back;
- ``noise``: Gaussian noise at 5% of the head's range;
- ``bias_field``: a smooth multiplicative field of up to +-30%, as from a receive coil.

These are not real sequences: they measure sensitivity to contrast, not accuracy on T2 data. The training
augmentation uses random curves of the same family, so the test is not independent of it for the curves.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from brainmets.inference import Segmenter, find_artifacts
from brainmets.networks import DISPLAY_NAMES
from training.data import PatientVolume, Split, read_subset
from training.evaluation import evaluate_segmenter

LOGGER = logging.getLogger("training.stress")
Transform = Callable[[np.ndarray], np.ndarray]


def _on_head(curve: Callable[[np.ndarray], np.ndarray]) -> Transform:
    """Apply ``curve`` to the head's values scaled to [0, 1]; air stays dark; the original range is kept."""

    def apply(image: np.ndarray) -> np.ndarray:
        lo, hi = float(image.min()), float(image.max())
        if hi <= lo:
            return image
        unit = (image.astype(np.float32) - lo) / (hi - lo)
        head = unit > 0.01
        out = np.where(head, np.clip(curve(unit), 0, 1), unit)
        return (out * (hi - lo) + lo).astype(np.float32)

    return apply


def _low_resolution(image: np.ndarray) -> np.ndarray:
    small = ndimage.zoom(image.astype(np.float32), 0.5, order=1)
    back = ndimage.zoom(small, np.array(image.shape) / np.array(small.shape), order=3)
    return back[: image.shape[0], : image.shape[1]].astype(np.float32)


def _noise(image: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (image + rng.normal(0, 0.05 * float(np.ptp(image)), image.shape)).astype(np.float32)


def _bias_field(image: np.ndarray) -> np.ndarray:
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    field = 1 + 0.3 * np.sin(np.pi * (0.8 * yy + 0.5 * xx))
    return (image * field).astype(np.float32)


TRANSFORMS: dict[str, Transform] = {
    "t2_like": _on_head(lambda v: np.abs(v - 0.45) / 0.55),
    "t1_like": _on_head(lambda v: np.interp(v, [0, 0.45, 1], [0.1, 0.9, 0.35])),
    "gamma_0.5": _on_head(lambda v: v**0.5),
    "gamma_2": _on_head(lambda v: v**2),
    "low_resolution": _low_resolution,
    "noise": _noise,
    "bias_field": _bias_field,
}


def transformed(volumes: list[PatientVolume], transform: Transform) -> list[PatientVolume]:
    return [PatientVolume(v.patient_id, [transform(im) for im in v.images], v.masks) for v in volumes]


def stress(segmenter: Segmenter, volumes: list[PatientVolume]) -> dict[str, dict[str, Any]]:
    """Per-patient Dice, pooled Dice and lesion sensitivity, on the slices as they are and under each transform."""
    out = {}
    for name, transform in {"original": None, **TRANSFORMS}.items():
        vols = volumes if transform is None else transformed(volumes, transform)
        summary = evaluate_segmenter(segmenter, vols)
        out[name] = {
            "per_patient_dice": summary["per_patient_dice_mean"],
            "pooled_dice": summary["global"]["dice"],
            "lesion_sensitivity": summary["lesion_sensitivity"],
            "false_positive_lesions_per_patient": summary["false_positive_lesions_per_patient"],
        }
        LOGGER.info("%s %s: per-patient Dice %.3f", segmenter.name, name, out[name]["per_patient_dice"])
    return out


def markdown(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    names = list(results)
    columns = list(next(iter(results.values())))
    lines = [
        "| model | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label in names:
        cells = [f"{results[label][c]['per_patient_dice']:.3f}" for c in columns]
        lines.append(f"| {DISPLAY_NAMES.get(label, label)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/lgg-flair"))
    p.add_argument("--split", type=Path, required=True)
    p.add_argument("--subset", choices=["train", "val"], default="val", help="never test: this guides choices")
    p.add_argument("--weights-dir", type=Path, help="every model artifact under this folder")
    p.add_argument("--artifact", type=Path, action="append", default=[], help="a model folder (repeatable)")
    p.add_argument("--out", type=Path, help="write stress.json and stress.md here")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    folders = {str(a): a for a in args.artifact}
    if args.weights_dir:
        folders.update({name: path for name, path in find_artifacts(args.weights_dir).items()})
    if not folders:
        raise SystemExit("name the models with --weights-dir or --artifact")
    volumes = read_subset(args.data, getattr(Split.load(args.split), args.subset), progress=False)
    results = {label: stress(Segmenter.load(folder, device="cpu"), volumes) for label, folder in folders.items()}
    table = markdown(results)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "stress.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / "stress.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
