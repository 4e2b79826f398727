"""Runs from config files: what ``unrolled train`` and ``unrolled eval`` do.

A run config (YAML, see `unrolled.config`) names a registered model and a registered problem
and the arguments of `unrolled.train.fit`::

    model:   {name: alista, layers: 16}                 # unrolled.create(name, operator=A, ...)
    problem: {name: sparse-coding, m: 250, n: 500}      # unrolled.create(name, ...), a Problem
    train:   {schedule: layerwise, lr: 1.0e-2, max_seconds: 150}   # unrolled.train.fit(...)
    run_dir: runs/alista

``model.name`` may also be a classical algorithm (``ista``, ``fista``, …): it is unrolled with
``layers``, ``learn`` (default ``"all"``), ``tied`` and ``backprop`` (see `unrolled.unroll`), the
other keys being the algorithm's params. `train_run` writes the config, as read, into the run
directory as ``config.yaml`` next to what `fit` writes, so that `evaluate` rebuilds the model.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .config import UNROLL_KEYS, ConfigError, RunConfig, check_config, in_section, load_config
from .core import get, list_models, unroll
from .metrics import Metric
from .train import fit, load_weights
from .train.checkpoint import (
    PREVIOUS,
    RUN_FILES,
    STATE,
    WEIGHTS,
    RunError,
    atomic_write,
    holds_run,
)
from .train.config import (
    FitConfig,
    check_progress,
    prepare_model,
    resolve_settings,
)
from .train.device import OnDevice, resolve_device
from .train.distributed import rank
from .train.lock import LOCK, run_lock
from .train.losses import validation_score

#: The run directory's copy of the config, as read.
CONFIG_YAML = "config.yaml"


def build_problem(config: RunConfig, **overrides: Any) -> Any:
    """The config's problem, with ``overrides`` of its keyword arguments."""
    kwargs = {**config.problem_kwargs, **overrides}
    try:
        return get(config.problem)(**kwargs)
    except (ValueError, TypeError) as e:
        raise in_section("problem", kwargs, e) from None


def build_model(config: RunConfig, problem: Any) -> nn.Module:
    """The config's model, on ``problem.operator``, untrained."""
    kwargs = dict(config.model_kwargs)
    try:
        if config.model in list_models("algorithm"):
            unrolling = {k: kwargs.pop(k, default) for k, default in UNROLL_KEYS.items()}
            algorithm = get(config.model)(**kwargs)
            return unroll(algorithm, operator=problem.operator, **unrolling)
        return get(config.model)(operator=problem.operator, **kwargs)
    except (ValueError, TypeError) as e:
        raise in_section("model", config.model_kwargs, e) from None


@torch.no_grad()
def validation(model: nn.Module, problem: Any, size: int | None = None) -> float:
    """The problem's metric of the model's output on (the first ``size`` samples of) the
    validation set (a set with its own per-sample operator is measured whole)."""
    x, y, *A = problem.validation
    if size is not None and not A:
        x, y = x[:size], y[:size]
    return validation_score(model, x, y, model.layers, problem.metric, A=A[0] if A else None)


def _check_fit(model: nn.Module, problem: Any, train: Mapping[str, Any]) -> None:
    """Check ``fit``'s settings (the model's recipe with the config's overrides) as `fit` will,
    before anything is written."""
    given = {k: v for k, v in train.items() if k != "progress"}
    validation = int(problem.validation[0].shape[0])
    try:
        settings = resolve_settings(model, problem, given)
        FitConfig.checked(int(model.layers), validation, **settings)
        check_progress(train.get("progress"))
    except (ValueError, TypeError) as e:
        raise in_section("train", train, e) from None


def _saved_config(path: Path) -> RunConfig:
    """A run directory's copy of its config; an error names the file (it was damaged after
    `train_run` wrote it, as read)."""
    try:
        return load_config(path)
    except ConfigError as e:
        raise ConfigError(str(e) if str(path) in str(e) else f"{path}: {e}") from None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    model: nn.Module
    problem: Any
    metric: Metric  # the problem's
    validation: float  # its value at full depth, over the validation samples fit used
    validation_size: int
    resumed: bool


def train_run(
    config_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str] | None = None,
    max_seconds: float | None = None,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
    overrides: Mapping[str, Any] | None = None,
    restart: bool = False,
) -> TrainResult:
    """Train the run the config at ``config_path`` describes.

    Args:
        config_path: the YAML run config.
        run_dir: where the run goes; default the config's ``run_dir``, else ``runs/<stem>``.
        max_seconds: overrides ``train.max_seconds``.
        resume: continue the run in ``run_dir`` (its config must match this one's model and
            problem; `fit` checks the training arguments).
        log: called with a line saying what trains where, before training starts.
        overrides: `fit` settings that replace the config's ``train`` ones (the CLI's
            ``--max-steps``, ``--device``, ``--precision``, ``--compile``).
        restart: discard the run in ``run_dir`` (its checkpoints, metrics and config) and
            train from the start.

    The run directory is locked while the run writes there (`unrolled.train.lock`): a second
    ``unrolled train`` into it stops with an error naming the first. A start that fails
    before its first step leaves nothing behind.

    Raises:
        ConfigError: a key of the config is unknown, ill-typed or invalid (named).
        ValueError: the run directory holds a run and neither ``resume`` nor ``restart`` is
            set, or ``resume`` is set and it holds none.
    """
    if resume and restart:
        raise ValueError("--restart: discards the run that --resume continues; give one of them")
    config = load_config(config_path)
    extra = dict(overrides or {})
    if max_seconds is not None:
        extra["max_seconds"] = max_seconds
    if extra:
        config = replace(config, train={**config.train, **extra})
    target = Path(run_dir or config.run_dir or Path("runs") / Path(config_path).stem)
    if target.exists() and not target.is_dir():
        raise ValueError(f"run_dir: expected a directory, got the file {str(target)!r}")
    saved = target / CONFIG_YAML
    if resume:
        if not holds_run(target):
            raise ValueError(f"--resume: {str(target)!r} holds no run to resume ({STATE})")
        if saved.is_file():
            before = _saved_config(saved)
            for section in ("model", "problem"):
                old = (getattr(before, section), getattr(before, f"{section}_kwargs"))
                new = (getattr(config, section), getattr(config, f"{section}_kwargs"))
                if old != new:
                    raise ConfigError(
                        f"{section}: the run in {str(target)!r} was trained with {section} "
                        f"{old[0]!r} {old[1]}, the config gives {new[0]!r} {new[1]}"
                    )
    elif holds_run(target) and not restart:
        raise ValueError(
            f"run_dir: {str(target)!r} already holds a run; pass --resume to continue it, "
            f"--restart to discard it, or choose another --run-dir"
        )
    problem = build_problem(config)
    model = build_model(config, problem)
    _check_fit(model, problem, config.train)
    existed = target.exists()
    writer = rank() == 0  # under torchrun, rank 0 alone writes
    try:
        with run_lock(target) if writer else contextlib.nullcontext():
            if restart and writer:
                for name in (*RUN_FILES, CONFIG_YAML):
                    (target / name).unlink(missing_ok=True)
            if writer and not (resume and saved.is_file()):
                atomic_write(saved, config.text.encode())
            if log is not None:
                settings = ", ".join(f"{k} {v}" for k, v in config.train.items())
                recipe = getattr(model, "recipe", None)
                how = f"; its recipe: {recipe.summary()}" if recipe is not None else ""
                log(
                    f"{'Resuming' if resume else 'Training'} {config.model} ({model.layers} layers) "
                    f"on {problem!r}{how}{'; overrides: ' + settings if settings else ''}; run "
                    f"directory {target}"
                )
            try:
                fit(
                    model,
                    problem,
                    run_dir=target,
                    resume=target if resume else None,
                    **config.train,
                )
            except BaseException as e:
                if writer and not resume and not holds_run(target):  # a failed start: undone
                    saved.unlink(missing_ok=True)
                if isinstance(e, TypeError):
                    raise ConfigError(f"train: {e}") from None
                if isinstance(e, ValueError) and not isinstance(e, RunError):
                    message = str(e)
                    if message.startswith("resume:"):
                        raise ValueError(message.replace("resume=", "--resume ")) from None
                    raise in_section("train", config.train, e) from None
                raise
    finally:
        if writer and not existed and not holds_run(target):  # a failed start: no directory
            with contextlib.suppress(OSError):
                (target / LOCK).unlink()
                target.rmdir()
    size = config.train.get("validation_size") or int(problem.validation[0].shape[0])
    score = validation(model, problem, size)
    return TrainResult(target, model, problem, problem.metric, score, size, resume)


@dataclass(frozen=True)
class Evaluation:
    """A run measured on its problem's test set: the problem's metric after each layer
    ``(K,)``, its other metrics at the output, and each baseline's metric after each of its
    iterations (``(K,)``, or ``(1,)`` for a method that does not iterate)."""

    config: RunConfig
    problem: Any
    test_size: int
    metric: Metric
    per_layer: Tensor
    at_output: dict[str, float]
    baselines: dict[str, Tensor]


@torch.no_grad()
def evaluate(
    run_dir: str | os.PathLike[str], test_size: int | None = None, device: str = "cpu"
) -> Evaluation:
    """Rebuild a `train_run` run from its directory and measure it on the problem's test set
    with the problem's metric, beside the problem's baselines (`unrolled.data.Problem`), the
    network running on ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``: see
    `unrolled.train.device`; the data and the baselines stay on the CPU).

    Raises:
        FileNotFoundError: ``run_dir`` is not a run directory (names the missing path).
        ValueError: ``device`` is not available here.
    """
    where = resolve_device(device)
    run = Path(run_dir)
    for name in (CONFIG_YAML, WEIGHTS):
        if not (run / name).is_file() and not (run / PREVIOUS.get(name, name)).is_file():
            what = "directory" if not run.is_dir() else f"run directory: no {run / name}"
            raise FileNotFoundError(
                f"RUN_DIR: {str(run)!r} is not a {what} (expected the {CONFIG_YAML} and "
                f"{WEIGHTS} that `unrolled train` writes)"
            )
    config = _saved_config(run / CONFIG_YAML)
    overrides = {} if test_size is None else {"test_size": test_size}
    problem = build_problem(config, **overrides)
    model = build_model(config, problem)
    prepare_model(model, problem)  # the recipe's problem-dependent choices, as fit made them
    load_weights(model, run)
    model.eval()
    model = OnDevice(model, where)
    x, y, *A = problem.test
    _, trace = model(y, *A, trace=True)  # (K, B, *x_shape)
    metric = problem.metric

    def scores(estimates: Tensor) -> Tensor:
        return torch.tensor([metric(t, x) for t in estimates], dtype=torch.float64)

    K = int(trace.shape[0])
    return Evaluation(
        config,
        problem,
        int(x.shape[0]),
        metric,
        scores(trace),
        {m.label: m(trace[-1], x) for m in problem.extra_metrics},
        {name: scores(run(K)) for name, run in problem.baselines().items()},
    )


def format_evaluation(result: Evaluation) -> str:
    """The per-layer table of `evaluate`, with a header line."""
    metric = result.metric
    fixed = {k: v for k, v in result.baselines.items() if len(v) == 1}
    iterating = {k: v for k, v in result.baselines.items() if len(v) > 1}
    header = f"Test {metric.label} of {result.config.model} on {result.problem.describe()}"
    if result.test_size > 1:  # one sample is a whole rating matrix: the problem counts ratings
        header += f", {result.test_size} test samples"
    if fixed:
        header += "; " + ", ".join(f"{k} {metric.format(float(v[0]))}" for k, v in fixed.items())
    if iterating:
        header += f"; {' and '.join(iterating)} at the same number of iterations"
    columns = ["layer", "network", *iterating]
    width = max(11, *(len(c) for c in columns[1:]))
    lines = [header + ":", "  ".join([f"{columns[0]:>5}", *(f"{c:>{width}}" for c in columns[1:])])]
    lines.append("-" * len(lines[-1]))
    for k, value in enumerate(result.per_layer):
        row = [value, *(v[k] if k < len(v) else math.nan for v in iterating.values())]
        cells = [f"{metric.format(float(v)):>{width}}" for v in row]
        lines.append(f"{k + 1:>5}  " + "  ".join(cells))
    for label, value in result.at_output.items():
        lines.append(f"{label} at the output: {value:.4f}")
    return "\n".join(lines)


__all__ = [
    "CONFIG_YAML",
    "Evaluation",
    "RunConfig",
    "TrainResult",
    "build_model",
    "build_problem",
    "check_config",
    "evaluate",
    "format_evaluation",
    "load_config",
    "train_run",
    "validation",
]
