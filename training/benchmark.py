"""Benchmark both networks beside MONAI's reference implementations, and the training step as the trainer runs it.

``python -m training.benchmark [--size 256] [--patch 128] [--widths 16,32,64,128,256] [--repeats 10] [--compile]``

Prints the CPU, its capability (``torch.backends.cpu.get_cpu_capability()``) and the precision the shared rule
(``brainmets.precision``) picks on it; parameters, forward GFLOPs (torch's flop counter) and median forward latency
in fp32 and bf16 autocast at batch 1 and 16; and the median training step (batch 16, Dice + BCE, Adam) in the
precision the trainer would choose, beside fp32, without channels-last and, with ``--compile``, under
torch.compile. bf16 is timed only where the CPU computes it natively: emulated bf16 is about ten times slower
than fp32 and no part of the project uses it. Defaults come from the committed model cards.
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
from brainmets.precision import autocast_dtype, cpu_has_native_bf16, cpu_name, precision_name
from training.complexity import forward_flops
from training.losses import head_weights, segmentation_loss

CPU = torch.device("cpu")


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


def _median_ms(run: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    times = []
    for i in range(repeats + warmup):
        start = time.perf_counter()
        run()
        if i >= warmup:  # the first calls pick oneDNN kernels (or compile)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def latency_ms(model: nn.Module, batch: int, size: int, dtype: torch.dtype | None, repeats: int) -> float:
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        return _median_ms(lambda: model(x), repeats)


def train_step_ms(
    model: nn.Module,
    batch: int,
    size: int,
    repeats: int,
    dtype: torch.dtype | None,
    channels_last: bool = True,
    compile_model: bool = False,
) -> float:
    """Median time of one training step (forward, Dice + BCE on every head, backward, Adam) as the trainer runs."""
    model = model.train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=fmt)
    y = (torch.rand(batch, 1, size, size) > 0.9).float()
    deep = isinstance(model, UNetPlusPlus)
    weights = head_weights(model.depth) if deep else [1.0]

    def outputs(images: torch.Tensor) -> list[torch.Tensor]:
        return model.forward_deep_supervision(images) if deep else [model(images)]  # type: ignore[operator]

    forward = torch.compile(outputs) if compile_model else outputs

    def step() -> None:
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = segmentation_loss("dice_bce", forward(x), y, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return _median_ms(step, repeats, warmup=3 if compile_model else 2)


def defaults() -> tuple[int, int, tuple[int, ...]]:
    """Input size, training patch and widths of the committed U-Net++ card (else the cpu preset's)."""
    artifacts = find_artifacts()
    if "unetpp" in artifacts:
        card = read_card(artifacts["unetpp"])
        patch = card.recipe.get("patch_size") or card.input_size[0]
        return card.input_size[0], int(patch), tuple(card.network["widths"])
    return 256, 128, (16, 32, 64, 128, 256)


def main(argv: list[str] | None = None) -> None:
    size, patch, widths = defaults()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=size, help="inference input size")
    p.add_argument("--patch", type=int, default=patch, help="training patch size")
    p.add_argument("--widths", type=lambda s: tuple(int(x) for x in s.split(",")), default=widths)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--compile", action="store_true", help="also time the training step under torch.compile")
    p.add_argument("--no-monai", action="store_true", help="skip MONAI's reference networks")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    chosen = autocast_dtype(CPU)
    native = cpu_has_native_bf16()
    print(f"CPU: {cpu_name()}, {args.threads} threads, torch {torch.__version__}")
    print(
        f"capability: {torch.backends.cpu.get_cpu_capability()}; native bf16: {'yes' if native else 'no'}; "
        f"precision the trainer and predictor use here: {precision_name(chosen)}\n"
    )
    factories: dict[str, Callable[[], nn.Module]] = {
        "U-Net++ (ours)": lambda: UNetPlusPlus(widths=args.widths, deep_supervision=False),
        "Attention U-Net (ours)": lambda: AttentionUNet(widths=args.widths),
        **({} if args.no_monai else monai_models(args.widths)),
    }
    precisions: list[torch.dtype | None] = [None, torch.bfloat16] if native else [None]
    cols = [f"{precision_name(d)} b{b} ms" for b in args.batches for d in precisions]
    print(f"forward pass, input {args.size}x{args.size}, widths {args.widths}, median of {args.repeats}\n")
    print("| model | parameters | GFLOPs (b1) | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for name, make in factories.items():
        model = FirstOutput(make())
        gflops = forward_flops(model, (args.size, args.size)) / 1e9
        cells = [f"{latency_ms(model, b, args.size, d, args.repeats):.1f}" for b in args.batches for d in precisions]
        print(f"| {name} | {count_parameters(model):,} | {gflops:.2f} | " + " | ".join(cells) + " |")
    if not native:
        print("\n(bf16 not timed: this CPU has no native bf16 kernels, so the project runs fp32 here)")
    variants: list[tuple[str, dict[str, object]]] = [(f"{precision_name(chosen)} (the trainer's choice)", {})]
    if chosen is not None:
        variants.append(("fp32", {"dtype": None}))
    variants.append(("without channels-last", {"channels_last": False}))
    if args.compile:
        variants.append(("torch.compile", {"compile_model": True}))
    print(
        f"\ntraining step, batch 16 of {args.patch}x{args.patch} patches, Dice + BCE, Adam, median of {args.repeats}\n"
    )
    print("| model | " + " | ".join(f"{label} ms" for label, _ in variants) + " | slices / s (trainer's choice) |")
    print("|---|" + "---|" * (len(variants) + 1))
    for name, make in (
        ("U-Net++ (ours, deep supervision)", lambda: UNetPlusPlus(widths=args.widths)),
        ("Attention U-Net (ours)", lambda: AttentionUNet(widths=args.widths)),
    ):
        times = []
        for _, options in variants:
            kwargs: dict[str, object] = {"dtype": chosen, **options}
            times.append(train_step_ms(make(), 16, args.patch, args.repeats, **kwargs))  # type: ignore[arg-type]
        print(f"| {name} | " + " | ".join(f"{t:.0f}" for t in times) + f" | {16000 / times[0]:.1f} |")


if __name__ == "__main__":
    main()
