"""Where the networks run and in which precision: the one rule shared by training, prediction and benchmarks.

Reduced precision pays only where the hardware computes it natively. On a CPU that means oneDNN's bf16 kernels
(AVX-512 BF16 or AMX); on an AVX2-only CPU bf16 is emulated and about ten times slower than fp32, so those CPUs
run fp32. CUDA devices take bf16 where supported, else fp16 (with a gradient scaler when training).
"""

from __future__ import annotations

import os
import platform
from typing import Any

import torch


def select_device(preferred: str = "auto") -> torch.device:
    """``auto`` takes CUDA when it is there, else the CPU; anything else is taken as named."""
    if preferred == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preferred)


def cpu_has_native_bf16() -> bool:
    """True where oneDNN has native bf16 kernels on this CPU (AVX-512 BF16 or AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``device``, or ``None`` for plain fp32 (the one precision rule)."""
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, str(dtype))


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> dict[str, Any]:
    """What a model card or a benchmark records about the hardware it ran on."""
    dtype = autocast_dtype(device)
    info: dict[str, Any] = {
        "device": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "precision": precision_name(dtype),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu"] = cpu_name()
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["logical_cpus"] = os.cpu_count()
    return info
