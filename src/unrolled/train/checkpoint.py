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
- ``checkpoint.json``: the SHA-256 of ``state.safetensors`` and ``weights.safetensors`` (and of
  the previous checkpoint's, kept as ``state.prev.safetensors`` and ``weights.prev.safetensors``)
  with the format version and the steps. `unrolled eval` and resuming verify a file against it
  before reading; a damaged latest file falls back to the previous checkpoint's, with a warning.

Every file is written atomically: to a temporary file in the same directory, flushed and
``fsync``-ed, then moved over the old one with ``os.replace``; a run killed at any moment leaves
either the old file or the new one, never a partial one. A checkpoint writes ``metrics.jsonl``,
moves the latest state and weights to their ``.prev`` names, writes ``state.safetensors``,
``state.json`` and ``weights.safetensors``, and ``checkpoint.json`` last; the state records how
many metric lines it has seen, and resuming drops any later line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
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
MANIFEST = "checkpoint.json"
#: The state format; a run directory written by another version is refused, not misread.
FORMAT = "unrolled.fit/1"
#: The format of ``checkpoint.json``.
MANIFEST_FORMAT = "unrolled.checkpoint/1"
#: The files a checkpoint verifies, and the names their previous checkpoint's copies keep.
PREVIOUS = {STATE: "state.prev.safetensors", WEIGHTS: "weights.prev.safetensors"}
#: Every file `fit` writes in a run directory.
RUN_FILES = (CONFIG, METRICS, WEIGHTS, STATE, STATE_JSON, MANIFEST, *PREVIOUS.values())


class RunError(ValueError):
    """A run directory cannot be read as it is: a file missing, damaged or of another model;
    the message names the file and says what to do."""


class RunWarning(UserWarning):
    """A run directory was read with a fallback (the previous checkpoint of a damaged file)."""


def holds_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether a directory holds a run's checkpoint (the latest, or the previous one only, as
    a checkpoint killed while moving files leaves it)."""
    path = Path(run_dir)
    return any((path / name).exists() for name in (STATE, MANIFEST, PREVIOUS[STATE]))


def digest(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, in hex."""
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


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

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as e:  # safetensors' own error type, OSError, a truncated header...
        raise RunError(
            f"{path}: not a readable safetensors file ({type(e).__name__}: {_short(e)})"
        ) from None


def save_weights(path: str | os.PathLike[str], model: nn.Module, **metadata: Any) -> None:
    """Write ``model.state_dict()`` to a safetensors file, atomically."""
    meta = {"format": "unrolled.weights", **{k: json.dumps(v) for k, v in metadata.items()}}
    save_tensors(path, model.state_dict(), meta)


def _run_file(
    run_dir: str | os.PathLike[str], name: str, arg: str = "run_dir", previous: bool = False
) -> Path:
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{arg}: expected a run directory, got {str(run_dir)!r}")
    if not (path / name).is_file() and not (previous and (path / PREVIOUS[name]).is_file()):
        raise FileNotFoundError(f"{arg}: {str(run_dir)!r} holds no {name}")
    return path / name


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    records = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: unreadable ({_short(e)})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise RunError(f"{path}: line {number} is not JSON ({_short(e)})") from None
        if not isinstance(record, dict):
            raise RunError(f"{path}: line {number} is not a JSON object")
        records.append(record)
    return records


def _short(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``checkpoint.json`` of a run directory, checked, or ``None`` where there is none."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        ok = manifest.get("format") == MANIFEST_FORMAT and all(
            isinstance(manifest.get(k, {}), dict) for k in ("files", "previous")
        )
    except (ValueError, AttributeError, OSError) as e:  # JSON, UTF-8, not an object
        raise RunError(f"{path}: unreadable ({_short(e)}); the run directory is damaged") from None
    if not ok:
        raise RunError(
            f"{path}: expected a checkpoint record of format {MANIFEST_FORMAT!r} with 'files'; "
            f"the run directory is damaged or written by another version"
        )
    return manifest


def verified(run_dir: str | os.PathLike[str], name: str, arg: str = "run_dir") -> Path:
    """The path to read for the checkpoint file ``name`` (``state.safetensors`` or
    ``weights.safetensors``) of a run directory, verified against ``checkpoint.json``: the file
    itself if its SHA-256 is recorded there, else (with a `RunWarning`) its previous
    checkpoint's copy if that one's is. A run directory without ``checkpoint.json`` (written
    before checksums) is read unverified.

    Raises:
        FileNotFoundError: ``run_dir`` is not a directory, or holds no such file.
        RunError: neither copy matches its checksum; the message names the file.
    """
    path = _run_file(run_dir, name, arg, previous=True)
    manifest = read_manifest(run_dir)
    if manifest is None:
        return path
    files, previous = manifest.get("files", {}), manifest.get("previous", {})
    old = path.parent / PREVIOUS[name]
    # a checkpoint killed after moving the latest files aside leaves them under .prev with the
    # manifest still naming them as the latest
    candidates = [(path, files.get(name)), (old, previous.get(name)), (old, files.get(name))]
    for candidate, expected in candidates:
        if expected is not None and candidate.is_file() and digest(candidate) == expected:
            if candidate != path:
                steps = manifest.get("previous_step") if expected == previous.get(name) else None
                at = f" (step {steps})" if steps is not None else ""
                warnings.warn(
                    f"{path} does not match the checksum in {MANIFEST} (damaged, or its "
                    f"checkpoint was interrupted); reading the previous checkpoint's "
                    f"{old.name}{at} instead",
                    RunWarning,
                    stacklevel=2,
                )
            return candidate
    raise RunError(
        f"{path}: does not match the SHA-256 recorded in {path.parent / MANIFEST}, and no "
        f"previous checkpoint does either: the file is damaged; train the run again "
        f"(unrolled train --restart)"
    )


def load_weights(
    model: nn.Module, run_dir: str | os.PathLike[str], strict: bool = True
) -> nn.Module:
    """Load the weights a `fit` run saved (``RUN_DIR/weights.safetensors``, verified against
    its checksum: see `verified`) into ``model``.

    ``model`` must be built as it was for the run (same class, layers, learned params). The
    tensors are copied to the model's own device and dtype. Returns ``model``.

    Raises:
        RunError: the file is damaged, or holds another model's weights.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    path = verified(run_dir, WEIGHTS)
    tensors, _ = load_tensors(path)
    try:
        model.load_state_dict(tensors, strict=strict)
    except RuntimeError as e:  # missing or unexpected keys, other shapes
        raise RunError(
            f"{path}: holds the weights of another model than {type(model).__name__} as built "
            f"({_short(e)})"
        ) from None
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
    return _read_json_lines(_run_file(run_dir, METRICS))


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a `fit` run."""
    path = _run_file(run_dir, CONFIG)
    try:
        config = json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise RunError(f"{path}: unreadable ({_short(e)})") from None
    if not (
        isinstance(config, dict)
        and isinstance(config.get("fit"), dict)
        and isinstance(config.get("model"), dict)
    ):
        raise RunError(f"{path}: expected the JSON object fit writes, with 'fit' and 'model'")
    return config


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
    if not isinstance(meta.get("groups"), list) or not isinstance(meta.get("values"), dict):
        raise RunError("resume: the checkpoint's optimiser record is damaged")
    if groups != list(meta["groups"]):
        raise ValueError(
            f"resume: the optimiser's parameter groups have sizes {groups}, the checkpoint's "
            f"{list(meta['groups'])}; build the model as it was for the run"
        )
    state: dict[int, dict[str, Any]] = {}
    try:
        for name, value in unprefixed("optimizer.", tensors).items():
            index, key = name.split(".", 1)
            state.setdefault(int(index), {})[key] = value
        for index, kv in meta["values"].items():
            state.setdefault(int(index), {}).update(kv)
        optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    except (KeyError, ValueError, TypeError, AttributeError, RuntimeError) as e:
        raise RunError(
            f"resume: the checkpoint's optimiser state is damaged ({_short(e)})"
        ) from None


def prefixed(prefix: str, tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``{prefix + name: tensor}``."""
    return {prefix + k: v for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The tensors whose name starts with ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_checkpoint(
    run_dir: Path,
    state: dict[str, Any],
    tensors: Mapping[str, Tensor],
    model: nn.Module,
    step: int,
) -> None:
    """One checkpoint: the latest state and weights move to their ``.prev`` names, then
    ``state.safetensors`` (tensors + the JSON state), its readable ``state.json``,
    ``weights.safetensors`` and, last, ``checkpoint.json`` with their SHA-256."""
    before = read_manifest(run_dir) or {}
    for name, old in PREVIOUS.items():
        if (run_dir / name).is_file():
            os.replace(run_dir / name, run_dir / old)
    state = {"format": FORMAT, **state}
    save_tensors(run_dir / STATE, tensors, {"state": json.dumps(state)})
    write_json(run_dir / STATE_JSON, state)
    save_weights(run_dir / WEIGHTS, model, step=step)
    manifest = {
        "format": MANIFEST_FORMAT,
        "step": step,
        "files": {name: digest(run_dir / name) for name in PREVIOUS},
        "previous_step": before.get("step"),
        "previous": before.get("files", {}),
    }
    write_json(run_dir / MANIFEST, manifest)


def repair_weights(run_dir: Path, model: nn.Module, step: int) -> None:
    """Rewrite ``weights.safetensors`` from ``model`` (loaded from the verified state of a
    finished run) when it is missing or does not match its checksum, with a `RunWarning`: a
    finished run resumed leaves its directory readable."""
    manifest = read_manifest(run_dir)
    path = run_dir / WEIGHTS
    recorded = None if manifest is None else manifest["files"].get(WEIGHTS)
    if path.is_file() and (recorded is None or digest(path) == recorded):
        return
    save_weights(path, model, step=step)
    if manifest is not None:
        manifest["files"][WEIGHTS] = digest(path)
        write_json(run_dir / MANIFEST, manifest)
    warnings.warn(
        f"{path} was missing or damaged; rewrote it from the run's verified state",
        RunWarning,
        stacklevel=2,
    )


def load_state(run_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Read ``state.safetensors``, verified (see `verified`): ``(state, tensors)``."""
    path = verified(run_dir, STATE, "resume")
    tensors, metadata = load_tensors(path)
    try:
        state = json.loads(metadata["state"])
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
    except (KeyError, ValueError) as e:
        raise RunError(f"{path}: holds no readable fit state ({_short(e)})") from None
    if state.get("format") != FORMAT:
        raise RunError(
            f"{path}: expected a state of format {FORMAT!r}, got {state.get('format')!r}"
        )
    return state, tensors


def remove_temporaries(run_dir: Path) -> None:
    """Delete temporary files a killed write left behind (``.NAME.*.tmp``)."""
    for tmp in run_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


__all__ = ["RunError", "RunWarning", "load_weights", "read_config", "read_metrics"]
