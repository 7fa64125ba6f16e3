"""Benchmark both networks beside MONAI's reference implementations at matched widths.

``python -m training.benchmark [--size 128] [--widths 16,32,64,128,256] [--repeats 10]``

Prints parameters, forward GFLOPs (torch's flop counter) and median forward latency on the CPU in fp32 and bf16
autocast, batch 1 and 16. Defaults come from the committed model cards (production size and widths).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from brainmets.inference import find_artifacts
from brainmets.inference.artifact import read_card
from brainmets.networks import AttentionUNet, UNetPlusPlus, count_parameters
from training.complexity import forward_flops


def monai_models(widths: tuple[int, ...]) -> dict[str, Callable[[], nn.Module]]:
    try:
        from monai.networks.nets import AttentionUnet, BasicUNetPlusPlus
    except ImportError:
        return {}
    if len(widths) != 5:
        return {}
    return {
        "MONAI BasicUNetPlusPlus": lambda: BasicUNetPlusPlus(
            spatial_dims=2, in_channels=1, out_channels=1, features=(*widths, widths[0]), deep_supervision=False
        ),
        "MONAI AttentionUnet": lambda: AttentionUnet(
            spatial_dims=2, in_channels=1, out_channels=1, channels=widths, strides=(2,) * (len(widths) - 1)
        ),
    }


class FirstOutput(nn.Module):
    """MONAI's BasicUNetPlusPlus returns a list; the benchmark wants the tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out[0] if isinstance(out, list | tuple) else out


def latency_ms(model: nn.Module, batch: int, size: int, bf16: bool, repeats: int) -> float:
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(repeats + 2):
            start = time.perf_counter()
            model(x)
            if i >= 2:  # the first calls pick oneDNN kernels
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def train_step_ms(model: nn.Module, batch: int, size: int, repeats: int, deep_supervision: bool) -> float:
    """Median time of one training step (bf16 forward, backward, Adam), as the CPU preset trains."""
    model = model.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            outputs = model.forward_deep_supervision(x) if deep_supervision else [model(x)]
            loss = torch.stack([torch.sigmoid(o.float()).mean() for o in outputs]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def defaults() -> tuple[int, tuple[int, ...]]:
    artifacts = find_artifacts()
    if "unetpp" in artifacts:
        card = read_card(artifacts["unetpp"])
        return card.input_size[0], tuple(card.network["widths"])
    return 256, (32, 64, 128, 256, 512)


def main(argv: list[str] | None = None) -> None:
    size, widths = defaults()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=size)
    p.add_argument("--widths", type=lambda s: tuple(int(x) for x in s.split(",")), default=widths)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    factories: dict[str, Callable[[], nn.Module]] = {
        "U-Net++ (ours)": lambda: UNetPlusPlus(widths=args.widths, deep_supervision=False),
        "Attention U-Net (ours)": lambda: AttentionUNet(widths=args.widths),
        **monai_models(args.widths),
    }
    cols = [f"{p} b{b} ms" for b in args.batches for p in ("fp32", "bf16")]
    print(
        f"CPU: {args.threads} threads, torch {torch.__version__}; input {args.size}x{args.size}, widths {args.widths}"
    )
    print(f"median of {args.repeats} forward passes after 2 warm-up passes\n")
    print("| model | parameters | GFLOPs (b1) | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for name, make in factories.items():
        model = FirstOutput(make())
        gflops = forward_flops(model, (args.size, args.size)) / 1e9
        cells = [
            f"{latency_ms(model, b, args.size, bf16, args.repeats):.1f}" for b in args.batches for bf16 in (False, True)
        ]
        print(f"| {name} | {count_parameters(model):,} | {gflops:.2f} | " + " | ".join(cells) + " |")
    print(f"\ntraining step, batch 16, bf16 autocast, Adam (as the cpu preset), median of {args.repeats}\n")
    print("| model | ms / step | slices / s |")
    print("|---|---|---|")
    for name, make, deep in (
        ("U-Net++ (ours, deep supervision)", lambda: UNetPlusPlus(widths=args.widths), True),
        ("Attention U-Net (ours)", lambda: AttentionUNet(widths=args.widths), False),
    ):
        ms = train_step_ms(make(), 16, args.size, args.repeats, deep)
        print(f"| {name} | {ms:.0f} | {16000 / ms:.1f} |")


if __name__ == "__main__":
    main()
