"""The evaluation report: Markdown with tables and figures (matplotlib) from ``metrics.json``'s content."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from brainmets.networks import DISPLAY_NAMES  # noqa: E402
from training.evaluation import __doc__ as DEFINITIONS  # noqa: E402

COLORS = {"unetpp": "#1f77b4", "attention_unet": "#d62728"}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _name(model: str) -> str:
    return DISPLAY_NAMES.get(model, model)


def plot_per_patient(models: dict[str, Any], out: Path) -> Path:
    """Per-patient Dice of every model, patients ordered by the first model's Dice, lines pairing them."""
    names = list(models)
    rows = {m: {r["patient"]: r["dice"] for r in models[m]["per_patient"]} for m in names}
    patients = sorted(rows[names[0]], key=lambda p: rows[names[0]][p])
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    x = np.arange(len(patients))
    for m in names:
        ax.plot(x, [rows[m].get(p, np.nan) for p in patients], "o", ms=4, label=_name(m), color=COLORS.get(m))
    if len(names) == 2:
        for i, p in enumerate(patients):
            ax.plot([i, i], [rows[names[0]][p], rows[names[1]].get(p, np.nan)], color="0.75", lw=0.8, zorder=0)
    ax.set_xticks(x, [p.replace("TCGA_", "") for p in patients], rotation=90, fontsize=6)
    ax.set_ylabel("Dice (patient volume)")
    ax.set_ylim(0, 1.02)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Per-patient Dice on the evaluated patients")
    fig.tight_layout()
    path = out / "per_patient_dice.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_training_curves(histories: dict[str, list[dict[str, float]]], out: Path) -> Path | None:
    if not histories:
        return None
    fig, (ax_loss, ax_dice) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    for m, rows in histories.items():
        epochs = [r["epoch"] for r in rows]
        validated = [r for r in rows if "val_dice_per_patient" in r]  # runs may validate every few epochs
        val_epochs = [r["epoch"] for r in validated]
        color = COLORS.get(m)
        ax_loss.plot(epochs, [r["train_loss"] for r in rows], color=color, label=f"{_name(m)} train")
        ax_loss.plot(val_epochs, [r["val_loss"] for r in validated], "--", color=color, label=f"{_name(m)} val")
        ax_dice.plot(val_epochs, [r["val_dice_per_patient"] for r in validated], color=color, label=_name(m))
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_dice.set(xlabel="epoch", ylabel="per-patient Dice", title="Validation Dice (model input size)")
    for ax in (ax_loss, ax_dice):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "training_curves.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_examples(examples: Sequence[dict[str, Any]], out: Path) -> Path | None:
    """Rows of (image, truth, each model's mask) overlays."""
    if not examples:
        return None
    models = list(examples[0]["masks"])
    cols = 2 + len(models)
    fig, axes = plt.subplots(len(examples), cols, figsize=(2.0 * cols, 2.0 * len(examples)), dpi=100, squeeze=False)
    for row, ex in zip(axes, examples, strict=True):
        panels = [("MRI", None), ("ground truth", ex["truth"])] + [(_name(m), ex["masks"][m]) for m in models]
        for ax, (title, mask) in zip(row, panels, strict=True):
            ax.imshow(ex["image"], cmap="gray")
            if mask is not None:
                ax.imshow(np.ma.masked_where(~mask, mask), cmap="autumn", alpha=0.5, vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        row[0].set_title(f"MRI ({ex['caption']})", fontsize=7)
    fig.tight_layout()
    path = out / "examples.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    metrics: dict[str, Any],
    out: Path,
    figures: dict[str, Path | None],
    notes: str | None = None,
    sections: dict[str, str] | None = None,
) -> Path:
    models: dict[str, Any] = metrics["models"]
    names = list(models)
    lines = ["# Evaluation report: U-Net++ against Attention U-Net", ""]
    lines += [
        f"Data: `{metrics['data']}`"
        + (f", subset `{metrics['subset']}` of `{metrics['split']}`" if metrics.get("subset") else ""),
        f"({models[names[0]]['patients']} patients, {models[names[0]]['slices']} slices). "
        f"Generated {metrics['created_at']}.",
        "",
        "## The user's metrics (pooled over all pixels) and the per-patient primary figure",
        "",
        "| model | per-patient Dice mean | median | Dice (pooled) | IoU | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in names:
        r, g = models[m], models[m]["global"]
        lines.append(
            f"| {_name(m)} | {_fmt(r['per_patient_dice_mean'])} | {_fmt(r['per_patient_dice_median'])} | "
            f"{_fmt(g['dice'])} | {_fmt(g['iou'])} | {_fmt(g['precision'])} | {_fmt(g['recall'])} | {_fmt(g['f1'])} |"
        )
    lines += [
        "",
        "## Lesion-wise, slice-wise and boundary figures",
        "",
        "| model | lesion-slices Dice | empty-slice FP rate | lesion sensitivity | FP lesions / patient | HD95 (px) |",
        "|---|---|---|---|---|---|",
    ]
    for m in names:
        r = models[m]
        lines.append(
            f"| {_name(m)} | {_fmt(r['lesion_slices_dice_mean'])} | {_fmt(r['empty_slice_false_positive_rate'])} | "
            f"{_fmt(r['lesion_sensitivity'])} | {_fmt(r['false_positive_lesions_per_patient'], 2)} | "
            f"{_fmt(r['hd95_mean'], 2)} |"
        )
    lines += [
        "",
        "## Lesion sensitivity by lesion size",
        "",
        "A lesion's size is its largest in-plane area in pixels of a 256 x 256 slice; small lesions (under 100 px,"
        " about 10 mm across) are what metastases often look like.",
        "",
        "| model | small (< 100 px) | medium (100-999 px) | large (>= 1,000 px) |",
        "|---|---|---|---|",
    ]
    for m in names:
        by_size = models[m].get("lesion_sensitivity_by_size") or {}
        cells = []
        for cls in ("small", "medium", "large"):
            c = by_size.get(cls) or {}
            cells.append(f"{_fmt(c.get('sensitivity'))} ({c.get('detected', 0)}/{c.get('true', 0)})" if c else "n/a")
        lines.append(f"| {_name(m)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Cost: size, training time and speed",
        "",
        "| model | parameters | GFLOPs / slice | input (training patch) | epochs (best) | training time | hardware "
        "| inference ms / slice |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in names:
        card, r = models[m]["card"], models[m]
        minutes = card.get("training_time_s")
        hw = card.get("hardware", {})
        patch = card.get("recipe", {}).get("patch_size")
        where = hw.get("gpu") or hw.get("cpu") or hw.get("device", "?")
        lines.append(
            f"| {_name(m)} | {card.get('parameters', 0):,} | {_fmt(r.get('gflops'), 2)} | "
            f"{card['input_size'][0]}x{card['input_size'][1]}{f' ({patch}x{patch})' if patch else ''} | "
            f"{card.get('epochs')} ({card.get('best_epoch')}) | {_fmt(minutes / 60 if minutes else None, 1)} min | "
            f"{where}, {hw.get('threads', '?')} threads, {hw.get('precision', '?')} | "
            f"{_fmt(r.get('inference_ms_per_slice'), 1)} |"
        )
    lines += [
        "",
        "Inference time is the wall time of the full prediction path (normalisation, resize, network, resize back,"
        " threshold) per slice, batched per patient, on the machine that ran this evaluation.",
        "",
        "## Generalisation: validation against test",
        "",
        *generalisation_table(models),
    ]
    comparison = metrics.get("comparison")
    if comparison:
        a, b = comparison["models"]
        lo, hi = comparison["bootstrap_interval"]
        verdict = comparison_verdict(comparison)
        better = a if comparison["mean_difference"] > 0 else b
        lines += [
            "",
            "## Which model is better?",
            "",
            f"Paired over {comparison['patients']} patients, per-patient Dice of {_name(a)} minus {_name(b)}: mean "
            f"{comparison['mean_difference']:+.4f}, median {comparison['median_difference']:+.4f}, bootstrap "
            f"{100 * comparison['confidence']:.0f}% interval [{lo:+.4f}, {hi:+.4f}]; "
            f"{_name(a)} wins on {comparison['wins_a']} patients, {_name(b)} on {comparison['wins_b']}. "
            f"{_name(better)} scores higher on average, and {verdict} (Wilcoxon signed-rank test).",
        ]
    for title, text in (sections or {}).items():
        lines += ["", f"## {title}", "", text.strip()]
    if notes:
        lines += ["", notes.strip()]
    lines += ["", "## Figures", ""]
    for title, key in (
        ("Per-patient Dice", "per_patient"),
        ("Training curves", "curves"),
        ("Examples (lesion slices)", "examples"),
    ):
        if figures.get(key):
            lines += [f"### {title}", "", f"![{title}]({figures[key].name})", ""]  # type: ignore[union-attr]
    lines += ["## Per patient", "", "| patient | slices | " + " | ".join(f"{_name(m)} Dice" for m in names) + " |"]
    lines.append("|---|---|" + "---|" * len(names))
    per = {m: {r["patient"]: r for r in models[m]["per_patient"]} for m in names}
    for p in sorted(per[names[0]]):
        cells = " | ".join(_fmt(per[m].get(p, {}).get("dice")) for m in names)
        lines.append(f"| {p} | {per[names[0]][p]['slices']} | {cells} |")
    lines += ["", "## Definitions", "", "```", (DEFINITIONS or "").strip(), "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def generalisation_table(models: dict[str, Any]) -> list[str]:
    """Each model's calibrated validation Dice, as chosen (in-sample) and held out, against this evaluation."""
    lines = [
        "| model | validation per-patient Dice (calibrated on it) | validation, held out | this evaluation | gap |",
        "|---|---|---|---|---|",
    ]
    for m in models:
        validation = models[m]["card"].get("validation_metrics", {})
        val = validation.get("per_patient_dice_mean")
        held_out = validation.get("postprocessing_search", {}).get("held_out", {}).get("per_patient_dice_mean")
        now = models[m]["per_patient_dice_mean"]
        gap = None if val is None or now is None else now - val
        lines.append(f"| {_name(m)} | {_fmt(val)} | {_fmt(held_out)} | {_fmt(now)} | {_fmt(gap)} |")
    lines += [
        "",
        "Calibration chooses the post-processing on the validation patients and is scored on them, which flatters"
        " every model; held out, each validation patient is scored with the setting chosen on the other patients"
        " (leave one patient out, `training.select_version`), which is what the search gives a patient it has not"
        " seen.",
    ]
    return lines


def comparison_verdict(comparison: dict[str, Any]) -> str:
    """What the paired Wilcoxon test and the bootstrap interval say together, in words."""
    lo, hi = comparison["bootstrap_interval"]
    p_value = f"p = {comparison['wilcoxon_p']:.3g}"
    rank_test_significant = comparison["wilcoxon_p"] < 1 - comparison["confidence"]
    interval_holds_zero = lo <= 0 <= hi
    if comparison["significant"]:
        return f"the difference is statistically significant ({p_value})"
    if not rank_test_significant and interval_holds_zero:
        return f"the difference is not statistically significant ({p_value}; the interval contains 0)"
    # The two tests disagree: say so rather than pick the convenient one.
    if rank_test_significant:
        return f"the signed-rank test is significant ({p_value}) but the bootstrap interval contains 0"
    return f"the bootstrap interval excludes 0 but the signed-rank test is not significant ({p_value})"


def load_histories(artifact_dirs: dict[str, Path]) -> dict[str, list[dict[str, float]]]:
    out = {}
    for name, folder in artifact_dirs.items():
        path = folder / "history.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
    return out


def previous_table(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The earlier evaluation's figures beside this one's, per model (same patients where the subsets match)."""
    rows = [
        ("per-patient Dice mean", lambda r: r.get("per_patient_dice_mean"), 3),
        ("per-patient Dice median", lambda r: r.get("per_patient_dice_median"), 3),
        ("pooled Dice", lambda r: (r.get("global") or {}).get("dice"), 3),
        ("lesion sensitivity", lambda r: r.get("lesion_sensitivity"), 3),
        ("false-positive lesions / patient", lambda r: r.get("false_positive_lesions_per_patient"), 2),
        ("HD95 (px)", lambda r: r.get("hd95_mean"), 2),
        ("input size", lambda r: "x".join(str(v) for v in r["card"]["input_size"]), 0),
        ("training time (min)", lambda r: (r["card"].get("training_time_s") or 0) / 60 or None, 1),
        ("inference ms / slice", lambda r: r.get("inference_ms_per_slice"), 1),
    ]
    names = [m for m in new["models"] if m in old["models"]]
    header = "| figure | " + " | ".join(f"{_name(m)} before | {_name(m)} now" for m in names) + " |"
    lines = [
        f"Before: the models evaluated {old.get('created_at', '?')[:10]} on the same subset "
        f"(`{old.get('subset')}`); now: this evaluation.",
        "",
        header,
        "|---|" + "---|---|" * len(names),
    ]
    for title, get, digits in rows:
        cells = []
        for m in names:
            cells += [_fmt(get(old["models"][m]), digits), _fmt(get(new["models"][m]), digits)]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
