"""Should a candidate version replace the published one? Decided on the validation patients, with the
post-processing search's optimism taken out and the noise of a few patients taken into account.

``python -m training.select_version --candidate runs/x/attention_unet --incumbent training/artifacts/attention_unet
--data DIR --split FILE [--out select.json]``

A card's calibrated validation Dice is the best of about 1,500 post-processing settings, scored on the very
patients they were chosen on: it flatters every version, and a version whose settings happen to suit those
patients most looks best. Here every validation patient is scored with the setting, flip averaging included,
that the search chooses on the *other* patients (leave one patient out), for both versions. The candidate
replaces the incumbent only when the paired difference of those held-out per-patient Dice clears the noise: the
lower end of its bootstrap interval lies above zero. Otherwise the incumbent stays, however the means compare.
The volume step (the smallest 3D component) is left out of the estimate; it is chosen on the slice masks after.

``--incumbent-search slice-peak`` judges a change to the search instead of new weights: give the same folder twice,
and the incumbent is estimated with the search as it was before the lesion-wide peak (``volume_peak``).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import torch

from brainmets.inference import Segmenter
from training.calibrate import validation_probabilities
from training.comparison import paired_comparison
from training.data import PatientVolume, Split, read_subset
from training.postprocess_search import PEAK_SCOPES, held_out_scores, score_settings

LOGGER = logging.getLogger("training.select_version")
# A two-sided 90% interval: the candidate must be better with about 95% confidence, one-sided.
ALPHA = 0.10
# The searches an estimate can use: today's, and the one before the peak could be looked for over the lesion.
SEARCHES: dict[str, tuple[bool, ...]] = {"full": PEAK_SCOPES, "slice-peak": (False,)}


def estimate(
    artifact: Path, volumes: list[PatientVolume], device: str = "auto", search: str = "full"
) -> dict[str, Any]:
    """One version's held-out calibrated figures on ``volumes``, with one of the ``SEARCHES``."""
    segmenter = Segmenter.load(artifact, device=device)
    truths = [v.masks for v in volumes]
    scopes = SEARCHES[search]
    scores = {
        flip: score_settings(p, truths, scopes) for flip, p in validation_probabilities(segmenter, volumes).items()
    }
    return {
        "artifact": str(artifact),
        "version": segmenter.card.version,
        "search": search,
        **held_out_scores(scores, _ids(volumes)),
    }


def _ids(volumes: list[PatientVolume]) -> list[str]:
    return [v.patient_id for v in volumes]


def verdict(candidate: dict[str, float], incumbent: dict[str, float], alpha: float = ALPHA) -> dict[str, Any]:
    """Replace only when the paired bootstrap interval of (candidate - incumbent) held-out Dice lies above 0."""
    comparison = paired_comparison(candidate, incumbent, alpha=alpha)
    lo, hi = comparison["bootstrap_interval"]
    replace = lo > 0
    if replace:
        reason = (
            f"the candidate is better: the {comparison['confidence']:.0%} interval [{lo:+.4f}, {hi:+.4f}] lies above 0"
        )
    elif hi < 0:
        reason = (
            f"the candidate is worse: the {comparison['confidence']:.0%} interval [{lo:+.4f}, {hi:+.4f}] lies below 0"
        )
    else:
        reason = (
            f"within the noise: the {comparison['confidence']:.0%} interval [{lo:+.4f}, {hi:+.4f}] holds 0, so the"
            " incumbent stays"
        )
    return {"replace": replace, "reason": reason, "comparison": comparison}


def select(
    candidate: Path,
    incumbent: Path,
    volumes: list[PatientVolume],
    device: str = "auto",
    incumbent_search: str = "full",
) -> dict[str, Any]:
    new, old = estimate(candidate, volumes, device), estimate(incumbent, volumes, device, incumbent_search)
    return {"candidate": new, "incumbent": old, **verdict(new["per_patient_dice"], old["per_patient_dice"])}


def _line(name: str, e: dict[str, Any]) -> str:
    s = e["in_sample"]
    return (
        f"{name} {e['version']} ({e['search']} search): held-out per-patient Dice"
        f" {e['per_patient_dice_mean']:.4f} (in-sample {s['dice']:.4f}), lesion sensitivity"
        f" {e['lesion_sensitivity']:.3f}, false-positive lesions per patient"
        f" {e['false_positive_lesions_per_patient']:.2f}; settings chosen {e['settings_chosen']}"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidate", required=True, type=Path, help="the new version's model folder")
    p.add_argument("--incumbent", required=True, type=Path, help="the published version's model folder")
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--split", required=True, type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--out", type=Path, help="write the whole comparison here as JSON")
    p.add_argument(
        "--incumbent-search",
        choices=sorted(SEARCHES),
        default="full",
        help="slice-peak: estimate the incumbent with the search before the lesion-wide peak (judges the search)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    volumes = read_subset(args.data, Split.load(args.split).val)
    result = select(args.candidate, args.incumbent, volumes, args.device, args.incumbent_search)
    print(_line("candidate", result["candidate"]))
    print(_line("incumbent", result["incumbent"]))
    c = result["comparison"]
    print(
        f"held-out difference {c['mean_difference']:+.4f} over {c['patients']} patients"
        f" ({c['wins_a']} better, {c['wins_b']} worse):"
        f" {'REPLACE' if result['replace'] else 'KEEP'}: {result['reason']}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
