"""Model cost figures: floating-point operations of one forward pass, counted by torch's flop counter."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def forward_flops(model: nn.Module, input_size: tuple[int, int], in_channels: int = 1, batch: int = 1) -> int:
    """FLOPs of one forward pass (a multiply-add counts as two), on the CPU in fp32."""
    was_training = model.training
    model.eval()
    x = torch.zeros(batch, in_channels, *input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())
