"""The machine a measurement ran on, for benchmark files."""

from __future__ import annotations

import os
import platform

import torch


def describe_machine() -> dict[str, object]:
    """CPU model, cores, torch threads and versions (``device`` is ``"cpu"``: benchmarks here
    run on the CPU; a GPU run records its own)."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": "cpu",
    }
