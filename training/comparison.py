"""Is one model really better? A paired Wilcoxon test and a bootstrap interval over per-patient Dice."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def paired_comparison(
    a: dict[str, float], b: dict[str, float], n_boot: int = 10_000, seed: int = 0, alpha: float = 0.05
) -> dict[str, Any]:
    """Compare two models' per-patient Dice on the patients both were scored on (difference = a - b)."""
    patients = sorted(set(a) & set(b))
    if len(patients) < 2:
        raise ValueError(f"need at least two shared patients to compare, got {len(patients)}")
    diff = np.array([a[p] - b[p] for p in patients])
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    p_value = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    return {
        "patients": len(patients),
        "mean_difference": float(diff.mean()),
        "median_difference": float(np.median(diff)),
        "confidence": 1 - alpha,
        "bootstrap_interval": [float(lo), float(hi)],  # the bootstrap interval at that confidence
        "wilcoxon_p": p_value,
        "wins_a": int((diff > 0).sum()),
        "wins_b": int((diff < 0).sum()),
        "significant": bool(p_value < alpha and (lo > 0 or hi < 0)),
    }
