"""The training loop: ``train_step``, ``validation_step``, ``on_epoch_end``, checkpoints and resume."""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import platform
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from brainmets.networks import build_model
from training.augment import augment_batch
from training.config import TrainConfig
from training.losses import segmentation_loss
from training.slices import SliceTensors, sample_epoch

LOGGER = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def hardware_description(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info


@dataclass
class TrainState:
    epoch: int = 0
    best_metric: float = -1.0
    best_epoch: int = -1
    elapsed_s: float = 0.0
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
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.steps_per_epoch = max(1, math.ceil(self.samples_per_epoch / config.batch_size))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.amp_dtype = autocast_dtype(device)
        self.scaler = torch.amp.GradScaler(enabled=config.amp and self.amp_dtype == torch.float16)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.state = TrainState()
        self.best_weights: dict[str, torch.Tensor] | None = None

    @property
    def samples_per_epoch(self) -> int:
        return self.config.samples_per_epoch or len(self.train_set)

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine decay to ``min_lr_ratio`` at the last epoch."""
        warmup = max(1, int(self.config.warmup_epochs * self.steps_per_epoch))
        total = self.config.epochs * self.steps_per_epoch
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        floor = self.config.min_lr_ratio
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.config.amp)

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last else x

    def train_step(self, images: torch.Tensor, masks: torch.Tensor) -> float:
        self.model.train()
        images, masks = augment_batch(images, masks, self.config.augment)
        images = self._to_device(images)
        with self._autocast():
            if self.config.model == "unetpp" and self.config.deep_supervision:
                outputs = self.model.forward_deep_supervision(images)  # type: ignore[operator]
            else:
                outputs = [self.model(images)]
            loss = segmentation_loss(self.config.loss, outputs, masks)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())

    @torch.inference_mode()
    def validation_step(self) -> dict[str, float]:
        """Per-patient Dice (slices stacked per patient) and pooled Dice at the model's input size."""
        self.model.eval()
        counts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        losses = []
        bs = self.config.val_batch_size
        for start in range(0, len(self.val_set), bs):
            images = self._to_device(self.val_set.images[start : start + bs])
            masks = self.val_set.masks[start : start + bs].to(self.device)
            with self._autocast():
                logits = self.model(images)
            losses.append(float(segmentation_loss(self.config.loss, [logits], masks)))
            pred = (torch.sigmoid(logits.float()) >= self.config.threshold).float()
            tp = (pred * masks).flatten(1).sum(1).cpu()
            fp = (pred * (1 - masks)).flatten(1).sum(1).cpu()
            fn = ((1 - pred) * masks).flatten(1).sum(1).cpu()
            for k, owner in enumerate(self.val_set.patient_of[start : start + bs]):
                c = counts[owner]
                c[0] += float(tp[k])
                c[1] += float(fp[k])
                c[2] += float(fn[k])
        per_patient = [_dice(*c) for c in counts.values()]
        pooled = [sum(c[i] for c in counts.values()) for i in range(3)]
        return {
            "val_loss": float(np.mean(losses)),
            "val_dice_per_patient": float(np.mean(per_patient)),
            "val_dice_pooled": _dice(*pooled),
        }

    def on_epoch_end(self, row: dict[str, float]) -> bool:
        """Log, keep the best weights, checkpoint; True when training should stop early."""
        self.state.history.append(row)
        metric = row["val_dice_per_patient"]
        if metric > self.state.best_metric:
            self.state.best_metric, self.state.best_epoch = metric, int(row["epoch"])
            self.best_weights = copy.deepcopy({k: v.cpu() for k, v in self.model.state_dict().items()})
        self.save_checkpoint()
        self._write_history()
        LOGGER.info(
            "epoch %d: loss %.4f, val per-patient Dice %.4f (best %.4f at %d)",
            row["epoch"],
            row["train_loss"],
            metric,
            self.state.best_metric,
            self.state.best_epoch,
        )
        return self.state.epoch - self.state.best_epoch > self.config.patience

    def fit(self, progress: bool = True) -> TrainState:
        start_epoch = self.state.epoch
        for epoch in range(start_epoch, self.config.epochs):
            started = time.perf_counter()
            order = sample_epoch(
                self.train_set.lesion, self.samples_per_epoch, self.config.lesion_fraction, self.generator
            )
            losses = []
            bar = tqdm(
                range(self.steps_per_epoch),
                desc=f"epoch {epoch + 1}/{self.config.epochs}",
                disable=not progress,
                leave=False,
            )
            for step in bar:
                idx = order[step * self.config.batch_size : (step + 1) * self.config.batch_size]
                if len(idx) == 0:
                    break
                images = self.train_set.images[idx].to(self.device)
                masks = self.train_set.masks[idx].to(self.device)
                losses.append(self.train_step(images, masks))
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            row = {
                "epoch": epoch + 1,
                "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": float(np.mean(losses)),
                **self.validation_step(),
            }
            self.state.elapsed_s += time.perf_counter() - started
            row["elapsed_s"] = round(self.state.elapsed_s, 1)
            self.state.epoch = epoch + 1
            if self.on_epoch_end(row):
                LOGGER.info("early stop: no improvement for %d epochs", self.config.patience)
                break
            if self.config.max_minutes and self.state.elapsed_s > self.config.max_minutes * 60:
                LOGGER.info("time budget of %.0f minutes reached", self.config.max_minutes)
                break
        return self.state

    def best_model(self) -> nn.Module:
        model = build_model(self.config.model, **self.config.network_kwargs())
        model.load_state_dict(self.best_weights or self.model.state_dict())
        return model.eval()

    def save_checkpoint(self) -> None:
        """Self-describing: weights, optimiser/scheduler/scaler, RNG, state, config and best weights."""
        payload = {
            "model_name": self.config.model,
            "config": self.config.model_dump(mode="json"),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "state": self.state.__dict__,
            "best_weights": self.best_weights,
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
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        self.generator.set_state(payload["generator"])
        torch.set_rng_state(payload["torch_rng"])
        self.state = TrainState(**payload["state"])
        self.best_weights = payload["best_weights"]
        LOGGER.info("resumed %s at epoch %d", path, self.state.epoch)
        return True

    def _write_history(self) -> None:
        (self.out_dir / "history.json").write_text(json.dumps(self.state.history, indent=2) + "\n")
        with (self.out_dir / "history.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.state.history[0]))
            writer.writeheader()
            writer.writerows(self.state.history)


def _dice(tp: float, fp: float, fn: float) -> float:
    den = 2 * tp + fp + fn
    return 1.0 if den == 0 else 2 * tp / den
