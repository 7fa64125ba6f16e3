"""The training loop's contracts: a wall-time budget shortens the schedule, EMA is what gets validated and
exported, and an epoch's patches mix lesion-centred and other patches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import torch

from brainmets.inference import ModelCard, save_artifact
from training.config import apply_overrides, preset_config
from training.losses import segmentation_loss
from training.slices import SliceTensors, sample_epoch
from training.train import default_version
from training.trainer import CHECKPOINT, Trainer, head_window


def tiny_data(n: int = 8, size: int = 32) -> SliceTensors:
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(n, 1, size, size, generator=gen)
    masks = torch.zeros(n, 1, size, size)
    masks[::2, :, 10:16, 12:18] = 1
    return SliceTensors(images, masks, [f"p{k // 2}" for k in range(n)])


def tiny_trainer(tmp_path: Path, model: str = "attention_unet", **overrides: object) -> Trainer:
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings: dict[str, object] = {
        "widths": (4, 8), "input_size": 32, "patch_size": 16, "batch_size": 4, "epochs": 6, "samples_per_epoch": 8,
    }  # fmt: skip
    config = preset_config(model, "cpu", **{**settings, **overrides})
    return Trainer(config, tiny_data(), tiny_data(), tmp_path, torch.device("cpu"))


def test_a_wall_time_budget_fits_the_schedule_after_the_first_epoch(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, max_minutes=1e-9, val_every=1)
    state = trainer.fit(progress=False)
    # The first epoch already spends the budget: the schedule ends there, and the epoch is validated.
    assert trainer.planned_epochs == 1 and state.epoch == 1 and state.step == state.planned_steps
    assert "val_dice_per_patient" in state.history[-1] and state.best_epoch == 1


class Clock:
    """A wall clock that moves only when the test says: each training step and each validation take fixed times."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def ticking(self, work: Callable[..., Any], seconds: float) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            result = work(*args)
            self.now += seconds
            return result

        return timed


def test_on_a_slow_machine_the_schedule_is_fitted_within_the_first_epoch_and_may_end_mid_epoch(
    tmp_path: Path,
) -> None:
    # 20 steps an epoch of 1 s each, 5 s a validation, a 40 s budget: the 200 configured steps cannot fit. Fitted
    # only after the first epoch, the run would end there at almost the peak learning rate.
    trainer = tiny_trainer(tmp_path, epochs=10, samples_per_epoch=80, val_every=1, max_minutes=40 / 60)
    clock = trainer.clock = Clock()
    trainer.train_step = clock.ticking(trainer.train_step, 1.0)  # type: ignore[method-assign]
    trainer.validation_step = clock.ticking(trainer.validation_step, 5.0)  # type: ignore[method-assign]
    planned = []
    fit = trainer.fit_to_budget

    def recorded(elapsed_s: float, log: bool = True) -> None:
        fit(elapsed_s, log)
        planned.append((trainer.state.step, trainer.state.planned_steps))

    trainer.fit_to_budget = recorded  # type: ignore[method-assign]
    state = trainer.fit(progress=False)
    # After 12 steps (two untimed): 28 s left at 1 s a step. After the first epoch's validation: 10 s left once the
    # last validation is set aside, at 1.25 s a step with validations.
    assert [p for p in planned if p[0] in (12, 20)] == [(12, 40), (20, 40), (20, 28)]
    assert state.step == state.planned_steps == 28 and state.epoch == 2  # the second epoch cut short
    assert [r["step"] for r in state.history] == [20, 28]
    assert all("val_dice_per_patient" in r for r in state.history)
    assert clock.now <= 40.0  # within the budget, the last validation included
    floor = trainer.config.lr * trainer.config.min_lr_ratio
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(floor)  # decayed by the last step


def test_when_the_steps_speed_up_the_plan_grows_and_still_ends_within_the_budget(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, epochs=10, samples_per_epoch=80, val_every=1, max_minutes=1.0)
    clock = trainer.clock = Clock()
    train_step = trainer.train_step

    def slow_start(*batch: torch.Tensor) -> float:
        loss = train_step(*batch)
        clock.now += 3.0 if trainer.state.step < 12 else 1.0  # the first twelve steps are three times as slow
        return loss

    trainer.train_step = slow_start  # type: ignore[method-assign]
    trainer.validation_step = clock.ticking(trainer.validation_step, 5.0)  # type: ignore[method-assign]
    first_plans = []
    fit = trainer.fit_to_budget

    def recorded(elapsed_s: float, log: bool = True) -> None:
        fit(elapsed_s, log)
        if not first_plans:
            first_plans.append(trainer.state.planned_steps)

    trainer.fit_to_budget = recorded  # type: ignore[method-assign]
    state = trainer.fit(progress=False)
    assert first_plans == [20]  # 24 s left after twelve steps, at 3 s a step: one epoch
    assert state.step == state.planned_steps > 20 and "val_dice_per_patient" in state.history[-1]
    assert clock.now <= 60.0
    floor = trainer.config.lr * trainer.config.min_lr_ratio
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(floor)


def test_a_budget_that_holds_the_configured_epochs_changes_nothing(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, epochs=3, val_every=1, max_minutes=60.0)
    state = trainer.fit(progress=False)
    assert state.planned_steps == 3 * trainer.steps_per_epoch == state.step and state.epoch == 3


def test_a_checkpoint_that_planned_in_epochs_resumes(tmp_path: Path) -> None:
    first = tiny_trainer(tmp_path, epochs=3, val_every=1)
    first.state.epoch = 1
    first.save_checkpoint()
    payload = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    state = payload["state"]
    del state["step"], state["planned_steps"], state["validation_s"]
    state["planned_epochs"] = 3
    torch.save(payload, tmp_path / CHECKPOINT)
    second = tiny_trainer(tmp_path, epochs=3, val_every=1)
    assert second.resume()
    assert (second.state.step, second.state.planned_steps) == (second.steps_per_epoch, 3 * second.steps_per_epoch)


def test_without_a_budget_every_epoch_runs_and_validation_follows_val_every(tmp_path: Path) -> None:
    state = tiny_trainer(tmp_path, val_every=4).fit(progress=False)
    assert [r["epoch"] for r in state.history] == [1, 2, 3, 4, 5, 6]
    assert [r["epoch"] for r in state.history if "val_dice_per_patient" in r] == [4, 6]  # and the last


def test_the_weight_average_is_validated_and_exported(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, epochs=2)
    trainer.fit(progress=False)
    assert trainer.ema is not None and trainer.eval_model is trainer.ema.module
    exported = trainer.best_model().state_dict()
    averaged = trainer.ema.module.state_dict()
    raw = trainer.model.state_dict()
    key = "head.weight"
    assert torch.equal(exported[key], averaged[key]) and not torch.equal(exported[key], raw[key])
    assert tiny_trainer(tmp_path, ema_decay=None).eval_model is not None


def test_overrides_reach_nested_settings_and_refuse_unknown_ones() -> None:
    config = preset_config("unetpp", "cpu")
    changed = apply_overrides(config, ["ema_decay=null", "augment.p_curve=0", "schedule=poly", "patch_size=null"])
    assert changed.ema_decay is None and changed.augment.p_curve == 0 and changed.schedule == "poly"
    assert changed.patch_size is None and changed.train_size == changed.input_size
    with pytest.raises(ValueError, match="no setting"):
        apply_overrides(config, ["augment.nonsense=1"])
    with pytest.raises(ValueError):
        apply_overrides(config, ["schedule=sideways"])


def test_the_validation_window_covers_every_head_with_a_margin() -> None:
    rows, cols = head_window(torch.tensor([[30, 200, 40, 210], [20, 190, 50, 220]]), 256)
    assert rows.start <= 20 - 16 and rows.stop >= 201 + 16 and (rows.stop - rows.start) % 16 == 0
    assert cols.start <= 40 - 16 and cols.stop >= 221 + 16 and (cols.stop - cols.start) % 16 == 0
    assert head_window(torch.tensor([[0, 255, 0, 255]]), 256) == (slice(0, 256), slice(0, 256))


def test_fine_tuning_starts_from_an_artifact_and_counts_its_training_time(tmp_path: Path) -> None:
    first = tiny_trainer(tmp_path / "a", epochs=1)
    first.fit(progress=False)
    card = ModelCard(name="attention_unet", architecture="AttentionUNet", version="stage-1",
                     network={"widths": [4, 8]}, input_size=(16, 16), training_time_s=120.0)  # fmt: skip
    save_artifact(first.best_model(), card, tmp_path / "stage1")
    second = tiny_trainer(tmp_path / "b")
    second.init_from(tmp_path / "stage1")
    assert torch.equal(second.model.state_dict()["head.weight"], first.best_model().state_dict()["head.weight"])
    assert second.initialised_from is not None and second.initialised_from["version"] == "stage-1"
    assert second.total_training_s == pytest.approx(120.0)
    with pytest.raises(ValueError, match="widths"):
        tiny_trainer(tmp_path / "c", widths=(8, 16)).init_from(tmp_path / "stage1")


@pytest.mark.parametrize("deep_first", [False, True])
def test_a_stage_with_or_without_deep_supervision_starts_from_one_trained_the_other_way(
    tmp_path: Path, deep_first: bool
) -> None:
    widths = (4, 8, 16)
    first = tiny_trainer(tmp_path / "a", widths=widths, epochs=1, deep_supervision=deep_first)
    first.fit(progress=False)
    card = ModelCard(name="attention_unet", architecture="AttentionUNet", version="stage-1",
                     network=first.config.network_kwargs(), input_size=(16, 16))  # fmt: skip
    save_artifact(first.best_model(), card, tmp_path / "stage1")
    second = tiny_trainer(tmp_path / "b", widths=widths, deep_supervision=not deep_first)
    second.init_from(tmp_path / "stage1")
    trained, started = first.best_model().state_dict(), second.model.state_dict()
    # Everything prediction uses carries over; only the training heads are dropped or start afresh.
    shared = [k for k in trained if not k.startswith("side_heads.")]
    assert all(torch.equal(trained[k], started[k]) for k in shared)
    assert any(k.startswith("side_heads.") for k in (started if not deep_first else trained))


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_same_weights(tmp_path: Path) -> None:
    straight = tiny_trainer(tmp_path / "straight", epochs=3, val_every=1)
    straight.fit(progress=False)

    class Interrupted(Exception):
        pass

    first = tiny_trainer(tmp_path / "interrupted", epochs=3, val_every=1)
    end_epoch = first.on_epoch_end

    def stop_after_two(row: dict[str, float]) -> bool:
        stop = end_epoch(row)  # writes the checkpoint
        if row["epoch"] == 2:
            raise Interrupted
        return stop

    first.on_epoch_end = stop_after_two  # type: ignore[method-assign]
    with pytest.raises(Interrupted):
        first.fit(progress=False)

    # Another seed: without the checkpoint this run would start from other weights and another data order.
    second = tiny_trainer(tmp_path / "interrupted", epochs=3, val_every=1, seed=7)
    assert second.resume()
    steps = 0
    train_step = second.train_step

    def counted(images: torch.Tensor, masks: torch.Tensor) -> float:
        nonlocal steps
        steps += 1
        return train_step(images, masks)

    second.train_step = counted  # type: ignore[method-assign]
    second.fit(progress=False)
    assert steps == second.steps_per_epoch  # only the missing epoch ran
    assert [r["epoch"] for r in second.state.history] == [1, 2, 3]
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert straight.ema is not None and second.ema is not None
    for key, value in straight.ema.module.state_dict().items():
        assert torch.equal(value, second.ema.module.state_dict()[key]), key


@pytest.mark.parametrize("model", ["unetpp", "attention_unet"])
@pytest.mark.parametrize("deep", [True, False])
def test_deep_supervision_trains_every_head(tmp_path: Path, model: str, deep: bool) -> None:
    trainer = tiny_trainer(tmp_path, model=model, widths=(4, 8, 16), deep_supervision=deep)
    picks = sample_epoch(trainer.train_set.lesion, 4, 0.5, trainer.generator)
    images, masks = trainer.next_batch(picks)
    trainer.model.train()
    with trainer._autocast():
        outputs = trainer._forward(trainer._to_device(images))
        loss = segmentation_loss(trainer.config.loss, outputs, masks, trainer.head_weights)
    loss.backward()
    net = trainer.model
    heads = net.heads if model == "unetpp" else [*net.side_heads, net.head]  # type: ignore[union-attr]
    touched = [h.weight.grad is not None and bool(h.weight.grad.abs().sum() > 0) for h in heads]
    assert touched == ([True] * len(heads) if deep else [False] * (len(heads) - 1) + [True])


def test_the_small_lesion_boost_reaches_the_training_loss(tmp_path: Path) -> None:
    losses = []
    for boost in (1.0, 10.0):
        trainer = tiny_trainer(tmp_path / str(boost), small_lesion_boost=boost)
        picks = sample_epoch(trainer.train_set.lesion, 4, 1.0, trainer.generator)
        losses.append(trainer.train_step(*trainer.next_batch(picks)))
    # The same weights and batch (one seed); the 36-pixel lesions' BCE counts 10 times.
    assert losses[1] > losses[0] + 0.1


def test_deep_supervision_defaults_to_how_each_published_network_was_built() -> None:
    assert preset_config("unetpp", "cpu").network_kwargs()["deep_supervision"] is True
    assert "deep_supervision" not in preset_config("attention_unet", "cpu").network_kwargs()
    assert preset_config("attention_unet", "cpu", deep_supervision=True).network_kwargs()["deep_supervision"]
    assert preset_config("unetpp", "cpu", deep_supervision=False).network_kwargs()["deep_supervision"] is False


def test_a_stage_never_takes_the_version_of_the_artifact_it_started_from() -> None:
    day = datetime(2026, 12, 7, tzinfo=UTC)
    assert default_version("unetpp", "cpu", day) == "unetpp-cpu-20261207"
    assert default_version("unetpp", "cpu", day, "unetpp-cpu-20261207") == "unetpp-cpu-finetuned-20261207"
    # A third stage on the day of the second, and a fourth.
    third = default_version("unetpp", "cpu", day, "unetpp-cpu-finetuned-20261207")
    assert third == "unetpp-cpu-finetuned-20261207.2"
    assert default_version("unetpp", "cpu", day, third) == "unetpp-cpu-finetuned-20261207.3"
    # Started from an earlier day's stage: the plain name is free.
    assert default_version("unetpp", "cpu", day, "unetpp-cpu-finetuned-20261206") == "unetpp-cpu-finetuned-20261207"


def test_the_lesion_sampling_setting_chooses_the_epochs_draws(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, lesion_sampling="lesions", max_minutes=1e-9)
    assert torch.equal(trainer._lesion_weights, trainer.train_set.lesion_weights("lesions"))
    assert trainer.fit(progress=False).step > 0
    with pytest.raises(ValueError, match="lesion_sampling"):
        preset_config("attention_unet", "cpu", lesion_sampling="pixels")
