"""End to end on synthetic data: the loop really learns, resumes, and evaluation writes its report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from brainmets.inference import Segmenter, find_artifacts
from tests.synthetic import make_slice, write_dataset
from training import evaluate, postprocess_search, publish, select_version, stress, train
from training.data import Split

TINY = ["--widths", "8,16,32", "--input-size", "64", "--batch-size", "8", "--lr", "0.01", "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train")
    data = root / "data"
    write_dataset(data, patients=8, slices=10, size=64, seed=2)
    out = root / "runs" / "attention_unet"
    args = ["--model", "attention_unet", "--data", str(data), "--out", str(out), "--epochs", "6"]
    train.main(args + ["--samples-per-epoch", "96", "--threads", "2", *TINY])
    return data, out


def test_training_reaches_a_high_dice(trained: tuple[Path, Path]) -> None:
    _, out = trained
    card = json.loads((out / "model_card.json").read_text())
    assert card["validation_metrics"]["per_patient_dice_mean"] > 0.8
    assert card["name"] == "attention_unet" and card["parameters"] > 0
    assert card["training_time_s"] > 0 and card["data"]["split_sha256"]
    search = card["validation_metrics"]["postprocessing_search"]
    assert search["chosen"]["threshold"] == card["threshold"]
    assert search["chosen"]["dice"] >= search["baseline"]["dice"]
    assert search["chosen"]["flip_averaging"] == card["flip_averaging"]
    gain = search["best_with_flip"]["dice"] - search["best_without_flip"]["dice"]
    assert card["flip_averaging"] == (gain >= postprocess_search.FLIP_MIN_GAIN)
    assert search["chosen"] == {
        **search["best_with_flip" if card["flip_averaging"] else "best_without_flip"],
        "flip_averaging": card["flip_averaging"],
    }
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, 7))
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_trained_artifact_predicts_at_the_original_size(trained: tuple[Path, Path]) -> None:
    _, out = trained
    segmenter = Segmenter.load(out, device="cpu")
    image, mask = make_slice(np.random.default_rng(99), 96)  # not the training size
    result = segmenter.predict(image, with_attention=True)
    assert result.mask.shape == (96, 96) and result.probability.shape == (96, 96)
    assert result.attention is not None and result.attention.shape == (96, 96)
    inter = (result.mask & mask).sum()
    assert 2 * inter / (result.mask.sum() + mask.sum()) > 0.7


def test_training_resumes_from_its_checkpoint(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    for name in ("checkpoint.pt", "split.json"):
        (resumed / name).write_bytes((out / name).read_bytes())
    # Another seed: a run that ignored the checkpoint would draw other weights, batches and losses.
    args = ["--model", "attention_unet", "--data", str(data), "--out", str(resumed), "--epochs", "7", "--seed", "7"]
    train.main(args + ["--samples-per-epoch", "96", *TINY])
    history = json.loads((resumed / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, 8))
    # The first six epochs come from the checkpoint.
    assert history[:6] == json.loads((out / "history.json").read_text())


@pytest.mark.parametrize(("model", "extra"), [("unetpp", []), ("attention_unet", ["--set", "deep_supervision=true"])])
def test_a_deeply_supervised_network_trains_and_its_artifact_predicts(
    tmp_path: Path, trained: tuple[Path, Path], model: str, extra: list[str]
) -> None:
    data, _ = trained
    out = tmp_path / model
    args = ["--model", model, "--data", str(data), "--out", str(out), "--epochs", "1", *extra]
    train.main(args + ["--samples-per-epoch", "16", *TINY])
    assert find_artifacts(tmp_path)[model] == out
    card = json.loads((out / "model_card.json").read_text())
    assert card["network"]["deep_supervision"] is True
    # The services build the network from the card: the extra heads load and prediction uses the finest one.
    image, _ = make_slice(np.random.default_rng(5), 64)
    assert Segmenter.load(out, device="cpu").predict(image).mask.shape == (64, 64)


def test_evaluate_writes_metrics_and_report(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    report_dir = tmp_path / "report"
    evaluate.main(["--data", str(data), "--out", str(report_dir), "--weights-dir", str(out.parent), "--examples", "2"])
    metrics = json.loads((report_dir / "metrics.json").read_text())
    m = metrics["models"]["attention_unet"]
    for key in (
        "patients", "slices", "per_patient_dice_mean", "per_patient_dice_median", "lesion_slices_dice_mean",
        "empty_slice_false_positive_rate", "lesion_sensitivity", "false_positive_lesions_per_patient", "hd95_mean",
    ):  # fmt: skip
        assert m[key] is not None, key
    assert set(m["global"]) == {"dice", "iou", "precision", "recall", "f1"}
    assert m["patients"] == 8 and m["slices"] == 80 and len(m["per_patient"]) == 8
    assert m["per_patient_dice_mean"] > 0.7
    report = (report_dir / "report.md").read_text()
    assert "Definitions" in report and "empty" in report
    assert (report_dir / "per_patient_dice.png").stat().st_size > 0
    assert (report_dir / "examples.png").stat().st_size > 0
    by_size = m["lesion_sensitivity_by_size"]
    assert set(by_size) == {"small", "medium", "large"}
    assert sum(c["true"] for c in by_size.values()) == sum(r["true_lesions"] for r in m["per_patient"])
    assert "Lesion sensitivity by lesion size" in report


def test_the_report_compares_with_an_earlier_evaluation_and_includes_sections(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    data, out = trained
    report_dir = tmp_path / "report"
    common = ["--data", str(data), "--weights-dir", str(out.parent), "--examples", "0", "--out", str(report_dir)]
    evaluate.main(common)
    previous = tmp_path / "previous.json"
    previous.write_text((report_dir / "metrics.json").read_text())
    table = tmp_path / "ablation.md"
    table.write_text("| variant | Dice |\n|---|---|\n| recipe | 0.9 |\n")
    # Adding sections later rewrites the report from the same figures: the patients are not scored again.
    evaluate.main([*common, "--reuse-metrics", "--previous", str(previous), "--section", f"Ablation={table}"])
    assert (report_dir / "metrics.json").read_text() == previous.read_text()
    report = (report_dir / "report.md").read_text()
    assert "## Old against new" in report and "Attention U-Net before" in report
    assert "## Ablation" in report and "| recipe | 0.9 |" in report


def test_publish_copies_the_run_and_records_test_metrics(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    artifacts = tmp_path / "artifacts"
    publish.main(["--runs", str(out.parent), "--artifacts", str(artifacts)])
    assert (artifacts / "attention_unet" / "weights.safetensors").is_file()
    assert (artifacts / "attention_unet" / "history.json").is_file()
    report_dir = tmp_path / "report"
    evaluate.main(["--data", str(data), "--out", str(report_dir), "--weights-dir", str(artifacts), "--examples", "0"])
    publish.main(["--metrics", str(report_dir / "metrics.json"), "--artifacts", str(artifacts)])
    card = json.loads((artifacts / "attention_unet" / "model_card.json").read_text())
    assert card["test_metrics"]["per_patient_dice_mean"] > 0.7
    assert set(card["test_metrics"]["global"]) == {"dice", "iou", "precision", "recall", "f1"}


def test_stress_test_scores_every_contrast_change(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    stress.main(
        ["--data", str(data), "--split", str(out / "split.json"), "--artifact", str(out), "--out", str(tmp_path)]
    )
    results = json.loads((tmp_path / "stress.json").read_text())
    conditions = results[str(out)]
    assert set(conditions) == {"original", *stress.TRANSFORMS}
    assert all(0 <= c["per_patient_dice"] <= 1 for c in conditions.values())
    assert conditions["original"]["per_patient_dice"] > 0.7
    assert "t2_like" in (tmp_path / "stress.md").read_text()


def test_the_t2_like_change_makes_the_darkest_tissue_bright_and_keeps_air_dark() -> None:
    image = np.zeros((32, 32), np.float32)
    image[4:28, 4:28] = 40  # dark tissue (CSF on FLAIR)
    image[10:20, 10:20] = 100  # middle grey
    image[12:16, 12:16] = 230  # lesion
    out = stress.TRANSFORMS["t2_like"](image)
    assert out[0, 0] == image[0, 0]  # air
    assert out[5, 5] > out[11, 11] and out[13, 13] > out[11, 11]  # CSF and lesion both brighter than grey


def test_select_replaces_a_version_only_for_a_gain_beyond_the_noise(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = trained
    # A barely trained version of the same network: the trained one must clearly beat it.
    weak = tmp_path / "weak" / "attention_unet"
    train.main(["--model", "attention_unet", "--data", str(data), "--out", str(weak), "--epochs", "1"]
               + ["--samples-per-epoch", "8", "--no-calibrate", *TINY])  # fmt: skip
    # Every synthetic patient is a validation patient here, so the held-out estimate has enough of them.
    split = Split.load(out / "split.json")
    everyone = Split(split.seed, [], sorted({*split.train, *split.val, *split.test}), [])
    everyone.save(tmp_path / "split.json")
    common = ["--data", str(data), "--split", str(tmp_path / "split.json")]

    select_version.main([*common, "--candidate", str(out), "--incumbent", str(weak), "--out", str(tmp_path / "a.json")])
    result = json.loads((tmp_path / "a.json").read_text())
    assert result["replace"], result["reason"]
    assert result["candidate"]["patients"] == 8
    assert result["candidate"]["per_patient_dice_mean"] > result["incumbent"]["per_patient_dice_mean"] + 0.1
    assert "REPLACE" in capsys.readouterr().out

    # Against itself, the candidate scores the same on every patient and never clears the noise.
    select_version.main([*common, "--candidate", str(out), "--incumbent", str(out), "--out", str(tmp_path / "b.json")])
    result = json.loads((tmp_path / "b.json").read_text())
    assert not result["replace"] and "KEEP" in capsys.readouterr().out
    assert result["comparison"]["mean_difference"] == 0 and result["comparison"]["wins_a"] == 0

    # Judging a change to the search: the same weights, the incumbent with the search before the lesion-wide peak.
    select_version.main(
        [*common, "--candidate", str(out), "--incumbent", str(out), "--incumbent-search", "slice-peak"]
        + ["--out", str(tmp_path / "c.json")]
    )
    result = json.loads((tmp_path / "c.json").read_text())
    assert (result["candidate"]["search"], result["incumbent"]["search"]) == ("full", "slice-peak")
    assert not any("over the lesion" in k for k in result["incumbent"]["settings_chosen"])


def test_reusing_the_scores_reads_the_cards_again(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    artifact = tmp_path / "artifacts" / "attention_unet"
    shutil.copytree(out, artifact)
    common = ["--data", str(data), "--weights-dir", str(artifact.parent), "--examples", "0", "--out", str(tmp_path)]
    evaluate.main(common)
    scored = json.loads((tmp_path / "metrics.json").read_text())["models"]["attention_unet"]
    # Held-out figures recorded in the card after the evaluation reach the report without scoring again.
    card = json.loads((artifact / "model_card.json").read_text())
    card["validation_metrics"]["postprocessing_search"]["held_out"] = {"per_patient_dice_mean": 0.4321}
    (artifact / "model_card.json").write_text(json.dumps(card))
    evaluate.main([*common, "--reuse-metrics"])
    reused = json.loads((tmp_path / "metrics.json").read_text())["models"]["attention_unet"]
    assert reused["per_patient"] == scored["per_patient"]
    assert "| 0.432 |" in (tmp_path / "report.md").read_text()
    # A new calibration changes what the scores measured without new weights: they are not reused.
    card["volume_peak"] = not card.get("volume_peak", False)
    (artifact / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(SystemExit, match="post-processing of attention_unet"):
        evaluate.main([*common, "--reuse-metrics"])
