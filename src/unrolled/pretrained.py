"""Shipped weights: trained networks that come with the package, so that a user sees a learned
model at work without training it (``unrolled.create("modl", weights="mri-8coil-4x")``,
``unrolled demo --task mri``).

Each entry is two files in ``unrolled/weights/<model>/``:

- ``<name>.safetensors``: the network's ``state_dict`` (float32; nothing is unpickled);
- ``<name>.json``: what a user needs to trust it: the model's arguments, the training problem
  (a registered `unrolled.data.Problem` and its arguments), how it was trained (config, device,
  steps, seconds), the test scores it reached beside the problem's classical baselines, a
  ``check`` (the problem's metric on its test set, to four decimals, which the test suite
  re-measures) and the weight file's SHA-256.

`benchmarks/weights.py` writes both from a finished training run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

#: Where the entries live inside the package.
WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class Pretrained:
    """One shipped weight file and its record (see the module's docstring).

    Attributes:
        model: the registered model name (``"modl"``).
        name: the entry's name (``"mri-8coil-4x"``).
        model_kwargs: the arguments the network was built with (without ``operator``).
        problem: the training problem, ``{"name": registered name, **arguments}``.
        trained: how it was trained (``config``, ``device``, ``steps``, ``seconds``, ``date``).
        results: scores on the problem's test set (``{"model": {...}, "baselines": {...}}``).
        check: ``{"metric": key, "value": v}``: the problem's metric on its whole test set.
        sha256: the weight file's digest.
        path: the weight file.
    """

    model: str
    name: str
    model_kwargs: dict[str, Any]
    problem: dict[str, Any]
    trained: dict[str, Any]
    results: dict[str, Any]
    check: dict[str, Any]
    sha256: str
    path: Path

    def build_problem(self, **overrides: Any) -> Any:
        """The training problem, rebuilt from its record (``overrides`` change arguments that
        do not define the task, such as ``validation_size``)."""
        from .core import create

        kwargs = {k: v for k, v in self.problem.items() if k != "name"}
        return create(self.problem["name"], **{**kwargs, **overrides})


def _directory(directory: Path | None) -> Path:
    """Where the entries are: ``directory``, default `WEIGHTS_DIR` (read at call time)."""
    return Path(directory) if directory is not None else WEIGHTS_DIR


def _record_path(model: str, name: str, directory: Path | None) -> Path:
    return _directory(directory) / model / f"{name}.json"


def available(model: str | None = None, directory: Path | None = None) -> list[Pretrained]:
    """Every shipped entry (of ``model``, when given), sorted by model and name."""
    pattern = f"{model.lower()}/*.json" if model else "*/*.json"
    found = sorted(_directory(directory).glob(pattern))
    return [info(p.parent.name, p.stem, directory) for p in found]


def info(model: str, name: str, directory: Path | None = None) -> Pretrained:
    """The record of the entry ``name`` of ``model`` (no tensors are read)."""
    model = model.lower()
    path = _record_path(model, name, directory)
    if not path.is_file():
        names = [p.stem for p in sorted(path.parent.glob("*.json"))]
        shipped = f"its shipped weights: {names}" if names else "no weights ship for it"
        raise ValueError(f"weights: {model!r} has no shipped weights {name!r}; {shipped}")
    record = json.loads(path.read_text())
    fields = ("model_kwargs", "problem", "trained", "results", "check", "sha256")
    return Pretrained(
        model, name, **{k: record[k] for k in fields}, path=path.with_suffix(".safetensors")
    )


def load(model: str, name: str, directory: Path | None = None, **kwargs: Any) -> nn.Module:
    """Build ``model`` as its entry ``name`` records and load the weights (on the CPU, in
    evaluation mode). ``kwargs`` may add what the record does not fix (``operator``,
    ``backprop``); one that contradicts the record is refused, since the weights would not fit.
    Without ``operator``, the model is sized from the operator of its recorded problem (which
    is built for that).
    """
    from .core import create
    from .train.checkpoint import load_tensors, require_safetensors

    entry = info(model, name, directory)
    for key, value in kwargs.items():
        if key in entry.model_kwargs and entry.model_kwargs[key] != value:
            raise ValueError(
                f"{key}: the weights {name!r} were trained with {key}={entry.model_kwargs[key]!r}, "
                f"got {value!r}"
            )
    require_safetensors()
    data = entry.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise ValueError(f"weights: {entry.path} does not match its recorded SHA-256 (damaged?)")
    if "operator" not in kwargs:  # what the model sizes itself from: its problem's operator
        kwargs["operator"] = entry.build_problem().operator
    net = create(model, **{**entry.model_kwargs, **kwargs})
    tensors, _ = load_tensors(entry.path)
    net.load_state_dict(tensors)
    return net.eval()


def save(
    net: nn.Module,
    model: str,
    name: str,
    *,
    model_kwargs: dict[str, Any],
    problem: dict[str, Any],
    trained: dict[str, Any],
    results: dict[str, Any],
    check: dict[str, Any],
    directory: Path | None = None,
) -> Pretrained:
    """Write ``net``'s weights and their record as the entry ``name`` of ``model``."""
    from .train.checkpoint import require_safetensors, save_weights, write_json

    require_safetensors()
    path = _record_path(model.lower(), name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = path.with_suffix(".safetensors")
    save_weights(weights, net.float(), entry=f"{model.lower()}/{name}")
    record = {
        "model": model.lower(),
        "name": name,
        "model_kwargs": model_kwargs,
        "problem": problem,
        "trained": trained,
        "results": results,
        "check": check,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    write_json(path, record)
    return info(model, name, directory)


__all__ = ["WEIGHTS_DIR", "Pretrained", "available", "info", "load", "save"]
