"""The run directory on disk: atomic writes, safetensors checkpoints, metrics; nothing pickled.

A run directory holds:

- ``config.json``: `fit`'s arguments, the model's description and the stages (written once).
- ``metrics.jsonl``: one JSON object per validation evaluation (see `read_metrics`), rewritten
  at every evaluation and every checkpoint (a checkpoint records how many lines it has seen).
- ``weights.safetensors``: the model's ``state_dict`` at the last checkpoint (at the end of a
  finished run: the trained model). Load it with `load_weights`.
- ``state.safetensors``: everything needed to resume exactly, in one file: the model's and the
  optimiser's tensors, the best weights of the current stage, the random generators' states, and
  in its metadata (key ``"state"``) a JSON object with the schedule position. ``state.json`` is a
  readable copy of that JSON object; resuming reads ``state.safetensors`` alone.

Every file is written atomically: to a temporary file in the same directory, flushed and
``fsync``-ed, then moved over the old one with ``os.replace``; a run killed at any moment leaves
either the old file or the new one, never a partial one. A checkpoint writes ``metrics.jsonl``,
then ``state.safetensors``, ``state.json`` and ``weights.safetensors``; the state records how
many metric lines it has seen, and resuming drops any later line.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

CONFIG = "config.json"
METRICS = "metrics.jsonl"
WEIGHTS = "weights.safetensors"
STATE = "state.safetensors"
STATE_JSON = "state.json"
#: The state format; a run directory written by another version is refused, not misread.
FORMAT = "unrolled.fit/1"


def require_safetensors() -> None:
    """Import safetensors now (it takes a moment), or say how to install it."""
    try:
        import safetensors.torch  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "run_dir/resume: writing a run directory needs safetensors; install it with "
            "pip install 'unrolled[train]'"
        ) from e


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, flush, fsync, ``os.replace``)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write(path, (json.dumps(obj, indent=2, allow_nan=True) + "\n").encode())


def write_jsonl(path: str | os.PathLike[str], records: list[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in records).encode())


def _cpu(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    # clone: safetensors refuses tensors that share memory (a state_dict may hold aliases)
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}


def save_tensors(
    path: str | os.PathLike[str], tensors: Mapping[str, Tensor], metadata: dict[str, str]
) -> None:
    """Write ``tensors`` and string ``metadata`` as one safetensors file, atomically."""
    from safetensors.torch import save

    atomic_write(path, save(_cpu(tensors), metadata=metadata))


def load_tensors(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read a safetensors file: ``(tensors, metadata)``, tensors on the CPU."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def save_weights(path: str | os.PathLike[str], model: nn.Module, **metadata: Any) -> None:
    """Write ``model.state_dict()`` to a safetensors file, atomically."""
    meta = {"format": "unrolled.weights", **{k: json.dumps(v) for k, v in metadata.items()}}
    save_tensors(path, model.state_dict(), meta)


def _run_file(run_dir: str | os.PathLike[str], name: str, arg: str = "run_dir") -> Path:
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{arg}: expected a run directory, got {str(run_dir)!r}")
    if not (path / name).is_file():
        raise FileNotFoundError(f"{arg}: {str(run_dir)!r} holds no {name}")
    return path / name


def load_weights(
    model: nn.Module, run_dir: str | os.PathLike[str], strict: bool = True
) -> nn.Module:
    """Load the weights a `fit` run saved (``RUN_DIR/weights.safetensors``) into ``model``.

    ``model`` must be built as it was for the run (same class, layers, learned params). The
    tensors are copied to the model's own device and dtype. Returns ``model``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    tensors, _ = load_tensors(_run_file(run_dir, WEIGHTS))
    model.load_state_dict(tensors, strict=strict)
    return model


def read_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The evaluations of a `fit` run, oldest first, from ``RUN_DIR/metrics.jsonl``.

    Each record: ``step`` (optimiser steps so far), ``stage`` (1-based) and ``stages``,
    ``label`` (the stage, e.g. ``"layer 3: refine x0.2"``), ``layer`` (the depth trained),
    ``stage_step``, ``lr``, ``train_loss`` (the mean training loss since the previous
    evaluation; ``None`` for a stage's opening evaluation), ``val_<metric>`` (the problem's
    score on the validation set at that depth, named by its `unrolled.metrics.Metric.key`:
    ``val_nmse_db``, ``val_psnr_db``, ``val_ser``, ``val_rmse``), ``best_val_<metric>`` (the
    stage's best so far) and ``seconds`` (training time so far).
    """
    text = _run_file(run_dir, METRICS).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a `fit` run."""
    return json.loads(_run_file(run_dir, CONFIG).read_text())


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Flatten an optimiser's per-parameter state into tensors and a JSON description.

    Tensors are named ``optimizer.<param index>.<key>`` (Adam: ``step``, ``exp_avg``,
    ``exp_avg_sq``); non-tensor state values and each group's parameter count go into the JSON.
    Group hyperparameters are not stored: `fit` rebuilds the optimiser the same way.
    """
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    values: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                values.setdefault(str(index), {})[key] = value
    groups = [len(g["params"]) for g in sd["param_groups"]]
    return tensors, {"groups": groups, "values": values}


def load_optimizer(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, Tensor], meta: Mapping[str, Any]
) -> None:
    """Restore the state `optimizer_tensors` flattened into an optimiser built the same way.

    ``tensors`` may hold other tensors too: only those named ``optimizer.*`` are read.
    """
    sd = optimizer.state_dict()
    groups = [len(g["params"]) for g in sd["param_groups"]]
    if groups != list(meta["groups"]):
        raise ValueError(
            f"resume: the optimiser's parameter groups have sizes {groups}, the checkpoint's "
            f"{list(meta['groups'])}; build the model as it was for the run"
        )
    state: dict[int, dict[str, Any]] = {}
    for name, value in unprefixed("optimizer.", tensors).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, kv in meta["values"].items():
        state.setdefault(int(index), {}).update(kv)
    optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})


def prefixed(prefix: str, tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``{prefix + name: tensor}``."""
    return {prefix + k: v for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The tensors whose name starts with ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_state(run_dir: Path, state: dict[str, Any], tensors: Mapping[str, Tensor]) -> None:
    """Write ``state.safetensors`` (tensors + the JSON state), then its readable ``state.json``."""
    state = {"format": FORMAT, **state}
    save_tensors(run_dir / STATE, tensors, {"state": json.dumps(state)})
    write_json(run_dir / STATE_JSON, state)


def load_state(run_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Read ``state.safetensors``: ``(state, tensors)``."""
    tensors, metadata = load_tensors(_run_file(run_dir, STATE, "resume"))
    if "state" not in metadata:
        raise ValueError(f"resume: {STATE} in {str(run_dir)!r} holds no fit state")
    state = json.loads(metadata["state"])
    if state.get("format") != FORMAT:
        raise ValueError(
            f"resume: expected a state of format {FORMAT!r}, got {state.get('format')!r}"
        )
    return state, tensors


def remove_temporaries(run_dir: Path) -> None:
    """Delete temporary files a killed write left behind (``.NAME.*.tmp``)."""
    for tmp in run_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


__all__ = ["load_weights", "read_config", "read_metrics"]
