"""Benchmark results files: JSON merged part by part, stamped with the machine and the time."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from .machine import describe_machine


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


__all__ = ["merge_results"]
