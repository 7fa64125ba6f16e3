"""The training loop: ``train_step``, ``validation_step``, ``on_epoch_end``, checkpoints and resume."""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from brainmets.imaging.neighbours import channels_for
from brainmets.inference.artifact import load_model
from brainmets.metrics import Confusion, scores
from brainmets.networks import build_model
from brainmets.precision import autocast_dtype, precision_name
from training.augment import augment_batch
from training.config import TrainConfig
from training.losses import head_weights, segmentation_loss, small_lesion_weights
from training.slices import SliceTensors, patch_centres, sample_epoch
from training.warm_start import inflate_input_channels, match_side_heads

LOGGER = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
# With a wall-time budget, the schedule is first fitted after this many timed steps, well inside the first epoch: on
# a slow CPU one epoch can be most of a stage's budget, and a schedule fitted only after it would end there at the
# peak learning rate. The first steps are not timed: they carry one-off costs (allocation, kernel choice). It is
# fitted again every REFIT_STEPS steps: the first steps can run a third slower than the rest.
UNTIMED_STEPS, PROBE_STEPS, REFIT_STEPS = 2, 10, 25
RECENT_STEPS = 50  # the steps whose mean time predicts the rest: the machine's speed now, not at the start


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def training_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype the trainer uses: the shared precision rule, or fp32 when ``amp`` is off."""
    return autocast_dtype(device) if config.amp else None


def warmup_ema(decay: float) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """Exponential moving average of the weights whose decay ramps up as ``(1 + n) / (10 + n)`` to ``decay``.

    Early on the average follows the network closely, so that a short run is not judged by its random start;
    integer buffers (BatchNorm's step counter) are copied.
    """

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        n = int(n_averaged)
        d = min(decay, (1 + n) / (10 + n))
        if averaged and torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - d)
        else:
            for a, c in zip(averaged, current, strict=True):
                a.copy_(c)

    return update


def head_window(boxes: torch.Tensor, size: int, margin: int = 16, multiple: int = 16) -> tuple[slice, slice]:
    """Rows and columns covering every box ``(y0, y1, x0, x1)`` of a batch plus ``margin``, as a span whose length
    is a multiple of ``multiple`` (the networks' pooling), within a ``size`` x ``size`` slice."""
    spans = []
    for first, last in ((boxes[:, 0].min(), boxes[:, 1].max()), (boxes[:, 2].min(), boxes[:, 3].max())):
        lo, hi = max(0, int(first) - margin), min(size, int(last) + 1 + margin)
        length = min(size, -(-(hi - lo) // multiple) * multiple)
        lo = min(lo, size - length)
        spans.append(slice(lo, lo + length))
    return spans[0], spans[1]


@dataclass
class TrainState:
    epoch: int = 0
    step: int = 0  # optimiser steps taken
    best_metric: float = -1.0
    best_epoch: int = -1
    elapsed_s: float = 0.0
    # The configured epochs' steps, or fewer once a wall-time budget shows they will not fit; the last epoch may
    # then be cut short, and the learning rate still reaches its floor at the last step.
    planned_steps: int = 0
    validation_s: float = 0.0  # the last validation's wall time: the schedule leaves room for the ones to come
    history: list[dict[str, float]] = field(default_factory=list)


class Trainer:
    """Trains one network on in-memory slices and keeps the weights of the best validation epoch.

    Args:
        config: the run's configuration.
        train: training slices; val: validation slices (per-patient Dice drives model selection).
        out_dir: where the checkpoint, logs and artifact go.
        device: where to train.
    """

    def __init__(
        self, config: TrainConfig, train: SliceTensors, val: SliceTensors, out_dir: Path, device: torch.device
    ) -> None:
        self.config, self.train_set, self.val_set = config, train, val
        self.out_dir, self.device = out_dir, device
        seed_everything(config.seed)
        self.model: nn.Module = build_model(config.model, **config.network_kwargs()).to(device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = (
            AveragedModel(self.model, multi_avg_fn=warmup_ema(config.ema_decay), use_buffers=True)
            if config.ema_decay
            else None
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.steps_per_epoch = max(1, math.ceil(self.samples_per_epoch / config.batch_size))
        self.state = TrainState(planned_steps=config.epochs * self.steps_per_epoch)
        self.clock: Callable[[], float] = time.perf_counter
        self._step_times: list[float] = []  # this invocation's, so a run resumed on another machine is re-timed
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.amp_dtype = training_dtype(config, device)
        self.scaler = torch.amp.GradScaler(enabled=self.amp_dtype == torch.float16)
        # Sampling runs on the CPU; augmentation on the training device, which needs a generator of its own there.
        self.generator = torch.Generator().manual_seed(config.seed)
        self.augment_generator = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.initialised_from: dict[str, Any] | None = None
        # The network says whether it has heads to supervise (either architecture built with deep_supervision=True).
        deep = bool(getattr(self.model, "deep_supervision", False))
        self.head_weights = head_weights(self.model.depth, config.deep_supervision_weights) if deep else [1.0]
        self._forward = torch.compile(self._outputs) if config.compile else self._outputs
        self._lesion_weights = train.lesion_weights(config.lesion_sampling)

    @property
    def samples_per_epoch(self) -> int:
        return self.config.samples_per_epoch or len(self.train_set)

    @property
    def total_training_s(self) -> float:
        """This run's training time plus that of the artifact it started from: what the model cost to train."""
        before = float((self.initialised_from or {}).get("training_time_s") or 0.0)
        return self.state.elapsed_s + before

    @property
    def planned_epochs(self) -> int:
        """Epochs the schedule spans, the last one possibly cut short."""
        return math.ceil(self.state.planned_steps / self.steps_per_epoch)

    @property
    def precision(self) -> str:
        return precision_name(self.amp_dtype)

    @property
    def eval_model(self) -> nn.Module:
        """The network that is validated and exported: the weight average when EMA is on."""
        return self.ema.module if self.ema is not None else self.model

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine (or nnU-Net's polynomial) decay to ``min_lr_ratio`` at the last step."""
        warmup = max(1, int(self.config.warmup_epochs * self.steps_per_epoch))
        total = self.state.planned_steps
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        floor = self.config.min_lr_ratio
        if self.config.schedule == "poly":
            return floor + (1 - floor) * (1 - progress) ** 0.9
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    def _autocast(self) -> torch.autocast:
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None
        )

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last else x

    def _outputs(self, images: torch.Tensor) -> list[torch.Tensor]:
        if len(self.head_weights) > 1:
            return self.model.forward_deep_supervision(images)  # type: ignore[operator]
        return [self.model(images)]

    def next_batch(self, picks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augmented training patches ``(B, C, P, P)`` and their masks for ``picks`` (see ``sample_epoch``)."""
        index = picks[:, 0]
        images = self.train_set.inputs(index).to(self.device)
        masks = self.train_set.masks[index].to(self.device)
        centres = patch_centres(self.train_set, picks, self.generator)
        return augment_batch(
            images, masks, centres, self.config.train_size, self.config.augment, self.augment_generator
        )

    def train_step(self, images: torch.Tensor, masks: torch.Tensor) -> float:
        self.model.train()
        images = self._to_device(images)
        pixel_weights = small_lesion_weights(masks, self.config.small_lesion_boost)
        with self._autocast():
            loss = segmentation_loss(self.config.loss, self._forward(images), masks, self.head_weights, pixel_weights)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return float(loss.detach())

    @torch.inference_mode()
    def validation_step(self) -> dict[str, float]:
        """Per-patient Dice (slices stacked per patient) and pooled Dice of whole slices at the input size."""
        model = self.eval_model.eval()
        counts: dict[str, Confusion] = defaultdict(lambda: Confusion(0, 0, 0, 0))
        losses = []
        bs = self.config.val_batch_size
        for start in range(0, len(self.val_set), bs):
            # Only the heads' bounding box (with a margin) goes through the network: outside it nothing is lesion,
            # and validating U-Net++ on whole slices would cost a third of its training time.
            rows, cols = head_window(self.val_set.head_boxes[start : start + bs], self.val_set.size)
            index = torch.arange(start, min(start + bs, len(self.val_set)))
            images = self._to_device(self.val_set.inputs(index)[:, :, rows, cols])
            masks = self.val_set.masks[start : start + bs, :, rows, cols].to(self.device)
            with self._autocast():
                logits = model(images)
            losses.append(float(segmentation_loss(self.config.loss, [logits], masks)) * len(images))
            pred = torch.sigmoid(logits.float()) >= self.config.threshold
            truth = masks > 0
            tp = (pred & truth).flatten(1).sum(1).tolist()
            fp = (pred & ~truth).flatten(1).sum(1).tolist()
            fn = (~pred & truth).flatten(1).sum(1).tolist()
            for k, owner in enumerate(self.val_set.patient_of[start : start + bs]):
                counts[owner] = counts[owner] + Confusion(int(tp[k]), int(fp[k]), int(fn[k]), 0)
        pooled = sum(counts.values(), Confusion(0, 0, 0, 0))
        return {
            "val_loss": float(np.sum(losses) / len(self.val_set)),
            "val_dice_per_patient": float(np.mean([scores(c)["dice"] for c in counts.values()])),
            "val_dice_pooled": scores(pooled)["dice"],
        }

    def on_epoch_end(self, row: dict[str, float]) -> bool:
        """Log, keep the best weights, checkpoint; True when training should stop early."""
        self.state.history.append(row)
        metric = row.get("val_dice_per_patient")
        if metric is not None and metric > self.state.best_metric:
            self.state.best_metric, self.state.best_epoch = metric, int(row["epoch"])
            self.best_weights = copy.deepcopy({k: v.cpu() for k, v in self.eval_model.state_dict().items()})
        self.save_checkpoint()
        self._write_history()
        LOGGER.info(
            "epoch %d/%d: loss %.4f, val per-patient Dice %s (best %.4f at %d), %.1f min",
            row["epoch"],
            self.planned_epochs,
            row["train_loss"],
            "-" if metric is None else f"{metric:.4f}",
            self.state.best_metric,
            self.state.best_epoch,
            self.state.elapsed_s / 60,
        )
        patience = self.config.patience
        return patience is not None and self.state.epoch - self.state.best_epoch > patience

    def fit_to_budget(self, elapsed_s: float, log: bool = True) -> None:
        """With a wall-time budget, plan as many steps as the times measured so far say will fit, up to the
        configured epochs.

        Fitted once ``PROBE_STEPS`` steps have been timed, every ``REFIT_STEPS`` steps after, and at every epoch's
        end (a machine's speed changes mid-run), with the mean step time and the last validation's time, leaving
        room for the validation that ends the run. The learning rate then decays to its floor by the last step
        that fits, instead of the run being cut off mid-schedule on a slower machine. Refits are small corrections:
        where the plan grows, the rate rises by as little.
        """
        budget = self.config.max_minutes
        timed = self._step_times[UNTIMED_STEPS:] or self._step_times  # an epoch of a few steps: all there are
        if not budget or not timed:
            return
        recent = timed[-RECENT_STEPS:]
        step_s = sum(recent) / len(recent)
        validation_per_step = self.state.validation_s / (self.config.val_every * self.steps_per_epoch)
        room = budget * 60 - elapsed_s - self.state.validation_s
        fits = max(self.state.step, 1, self.state.step + int(max(0.0, room) // (step_s + validation_per_step)))
        fits = min(fits, self.config.epochs * self.steps_per_epoch)
        if fits != self.state.planned_steps and log:
            LOGGER.info(
                "%.2f s per step: %d steps (%.1f epochs) fit in %.0f minutes, planned %d; the schedule now ends there",
                step_s,
                fits,
                fits / self.steps_per_epoch,
                budget,
                self.state.planned_steps,
            )
        self.state.planned_steps = fits

    def _out_of_time(self, extra_s: float = 0.0) -> bool:
        budget = self.config.max_minutes
        return bool(budget) and self.state.elapsed_s + extra_s > budget * 60  # type: ignore[operator]

    def _validate_now(self, epoch: int, epoch_s: float) -> bool:
        last = self.state.step >= self.state.planned_steps or self._out_of_time(2 * epoch_s)
        return epoch % self.config.val_every == 0 or last

    def fit(self, progress: bool = True) -> TrainState:
        LOGGER.info(
            "training %s on %s in %s, %d steps of %d per epoch",
            self.config.model,
            self.device,
            self.precision,
            self.steps_per_epoch,
            self.config.batch_size,
        )
        while self.state.step < self.state.planned_steps:
            epoch = self.state.epoch + 1
            started = self.clock()
            order = sample_epoch(
                self._lesion_weights, self.samples_per_epoch, self.config.lesion_fraction, self.generator
            )
            losses = []
            bar = tqdm(
                range(self.steps_per_epoch),
                desc=f"epoch {epoch}/{self.planned_epochs}",
                disable=not progress,
                leave=False,
            )
            for k in bar:
                picks = order[k * self.config.batch_size : (k + 1) * self.config.batch_size]
                if len(picks) == 0 or self.state.step >= self.state.planned_steps:
                    break
                step_started = self.clock()
                losses.append(self.train_step(*self.next_batch(picks)))
                self.state.step += 1
                self._step_times.append(self.clock() - step_started)
                timed = len(self._step_times) - UNTIMED_STEPS - PROBE_STEPS
                if timed >= 0 and timed % REFIT_STEPS == 0:
                    self.fit_to_budget(self.state.elapsed_s + self.clock() - started, log=timed == 0)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            row: dict[str, float] = {
                "epoch": epoch,
                "step": self.state.step,
                "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": float(np.mean(losses)),
            }
            # Fitted before deciding whether to validate, so that an epoch the budget makes the last is validated.
            self.fit_to_budget(self.state.elapsed_s + self.clock() - started)
            validate = self._validate_now(epoch, self.clock() - started)
            if validate:
                validation_started = self.clock()
                row.update(self.validation_step())
                self.state.validation_s = self.clock() - validation_started
            self.state.elapsed_s += self.clock() - started
            row["elapsed_s"] = round(self.state.elapsed_s, 1)
            self.state.epoch = epoch
            if validate:  # and again with the validation's time, now known
                self.fit_to_budget(self.state.elapsed_s)
            if self.on_epoch_end(row):
                LOGGER.info("early stop: no improvement for %d epochs", self.config.patience)
                break
            if self._out_of_time():
                LOGGER.warning("wall-time budget of %.0f minutes spent at epoch %d", self.config.max_minutes, epoch)
                break
        return self.state

    def best_model(self) -> nn.Module:
        model = build_model(self.config.model, **self.config.network_kwargs())
        model.load_state_dict(self.best_weights or self.eval_model.state_dict())
        return model.eval()

    def init_from(self, artifact_dir: Path) -> None:
        """Start from a trained artifact's weights (fine-tuning); the optimiser and schedule start afresh."""
        model, card = load_model(artifact_dir, self.device)
        if card.name != self.config.model or list(card.network.get("widths", [])) != list(self.config.widths):
            raise ValueError(
                f"{artifact_dir} holds {card.name} with widths {card.network.get('widths')}, "
                f"not {self.config.model} with widths {list(self.config.widths)}"
            )
        weights, heads = match_side_heads(model.state_dict(), self.model.state_dict())
        if heads:
            LOGGER.info("deep-supervision heads dropped or started afresh: %s", ", ".join(sorted(heads)))
        if card.context_slices == 0 and self.config.context_slices > 0:
            # A 2D model starts its 2.5D twin: the neighbours' kernels start at zero, so nothing is lost.
            weights = inflate_input_channels(weights, self.model.state_dict())
            LOGGER.info("input kernels inflated from 1 to %d channels", channels_for(self.config.context_slices))
        elif card.context_slices != self.config.context_slices:
            raise ValueError(
                f"{artifact_dir} was trained with {card.context_slices} neighbouring slices on each side, "
                f"not {self.config.context_slices}: set context_slices={card.context_slices}"
            )
        self.model.load_state_dict(weights)
        if self.ema is not None:
            self.ema.module.load_state_dict(weights)
        self.initialised_from = {
            "artifact": str(artifact_dir),
            "version": card.version,
            "epochs": card.epochs,
            "training_time_s": card.training_time_s or 0.0,
        }
        LOGGER.info("starting from %s (%s)", artifact_dir, card.version)

    def save_checkpoint(self) -> None:
        """Self-describing: weights, EMA, optimiser/scheduler/scaler, RNG, state, config and best weights."""
        payload = {
            "model_name": self.config.model,
            "config": self.config.model_dump(mode="json"),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "augment_generator": self.augment_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "state": self.state.__dict__,
            "best_weights": self.best_weights,
            "initialised_from": self.initialised_from,
        }
        tmp = self.out_dir / (CHECKPOINT + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(self.out_dir / CHECKPOINT)  # atomic: an interruption never leaves a torn checkpoint

    def resume(self) -> bool:
        path = self.out_dir / CHECKPOINT
        if not path.is_file():
            return False
        payload = torch.load(path, map_location=self.device, weights_only=False)
        if payload["model_name"] != self.config.model:
            raise ValueError(f"{path} holds a {payload['model_name']} run, not {self.config.model}")
        self.model.load_state_dict(payload["model"])
        if self.ema is not None and payload.get("ema") is not None:
            self.ema.load_state_dict(payload["ema"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        self.generator.set_state(payload["generator"])
        if payload.get("augment_generator") is not None:
            self.augment_generator.set_state(payload["augment_generator"])
        torch.set_rng_state(payload["torch_rng"])
        saved = dict(payload["state"])
        if "planned_epochs" in saved:  # a checkpoint from before schedules were planned in steps
            saved["planned_steps"] = saved.pop("planned_epochs") * self.steps_per_epoch
            saved["step"] = saved["epoch"] * self.steps_per_epoch
        self.state = TrainState(**saved)
        # A resumed run follows this invocation's epochs, within what its wall-time budget already allowed.
        configured = self.config.epochs * self.steps_per_epoch
        budgeted = self.state.planned_steps if self.config.max_minutes else configured
        self.state.planned_steps = min(configured, budgeted)
        self.best_weights = payload["best_weights"]
        self.initialised_from = payload.get("initialised_from")
        LOGGER.info("resumed %s at epoch %d of %d", path, self.state.epoch, self.planned_epochs)
        return True

    def _write_history(self) -> None:
        fields = list(dict.fromkeys(k for row in self.state.history for k in row))
        (self.out_dir / "history.json").write_text(json.dumps(self.state.history, indent=2) + "\n")
        with (self.out_dir / "history.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.state.history)
