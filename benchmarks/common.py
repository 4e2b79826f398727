"""What every benchmark script shares: the machine a measurement ran on, and results files merged
part by part (JSON stamped with the machine and the time)."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

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


def merge_results(path: Path, key: str | tuple[str, ...], value: dict) -> dict:
    """Set ``value`` at ``key`` (a path of keys) in the JSON file ``path`` (created if absent),
    with ``machine`` and ``updated`` refreshed; written atomically. Returns the whole file."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    keys = (key,) if isinstance(key, str) else key
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    data["machine"] = describe_machine()
    data["updated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return data


def stored_or_measured(out: Path, stored: bool, measure: Callable[[], dict]) -> dict:
    """The results in ``out`` when ``stored`` (a table or figure redrawn from the file), else
    ``measure()``'s, written to ``out`` (the whole file: one benchmark, one result)."""
    if stored:
        return json.loads(out.read_text())
    result = measure()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result
