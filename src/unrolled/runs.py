"""Runs from config files: what ``unrolled train`` and ``unrolled eval`` do.

A run config (YAML, see `unrolled.config`) names a registered model and a registered problem
and the arguments of `unrolled.train.fit`::

    model:   {name: alista, layers: 16}                 # unrolled.create(name, operator=A, ...)
    problem: {name: sparse_coding, m: 250, n: 500}      # unrolled.data.PROBLEMS[name](...)
    train:   {schedule: layerwise, lr: 1.0e-2, max_seconds: 150}   # unrolled.train.fit(...)
    run_dir: runs/alista

``model.name`` may also be a classical algorithm (``ista``, ``fista``, …): it is unrolled with
``layers``, ``learn`` (default ``"all"``), ``tied`` and ``backprop`` (see `unrolled.unroll`), the
other keys being the algorithm's params. `train_run` writes the config, as read, into the run
directory as ``config.yaml`` next to what `fit` writes, so that `evaluate` rebuilds the model.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import train as training
from .algorithms import FISTA, ISTA, OAMP
from .analysis import CLASSICAL_LAMBDA
from .comms import mmse
from .config import ConfigError, check_kwargs, load_yaml
from .core import get, list_models, unroll
from .data import PROBLEMS, MIMODetection, RatingCompletion
from .metrics import nmse_db, psnr, ssim
from .train import fit, load_weights
from .train.checkpoint import STATE, WEIGHTS, atomic_write
from .train.config import FitConfig, check_progress, prepare_model, resolve_settings
from .train.device import OnDevice, resolve_device
from .train.losses import validation_nmse_db as validation_set_nmse_db

#: The run directory's copy of the config, as read.
CONFIG_YAML = "config.yaml"
#: `fit`'s arguments that the config does not set (the CLI does).
FIT_SKIP = ("model", "problem", "run_dir", "resume", "callback")
#: Keys of ``model`` when it names a classical algorithm: `unroll`'s, with their defaults.
UNROLL_KEYS = {"layers": 16, "learn": "all", "tied": False, "backprop": "full"}


@dataclass(frozen=True)
class RunConfig:
    """A checked run config: the sections' keyword arguments, ``name`` taken out."""

    model: str
    model_kwargs: dict[str, Any]
    problem: str
    problem_kwargs: dict[str, Any]
    train: dict[str, Any]
    run_dir: str | None
    text: str  # the YAML as read


def _name(section: str, values: Mapping[str, Any], choices: list[str]) -> str:
    if "name" not in values:
        raise ConfigError(f"{section}.name: required key is missing; expected one of {choices}")
    name = values["name"]
    if not isinstance(name, str) or name.lower() not in choices:
        raise ConfigError(f"{section}.name: unknown {section} {name!r}; expected one of {choices}")
    return name.lower()


def _algorithm_signature(cls: type) -> Any:
    """A stand-in for ``unroll(cls(**params), layers, learn=, tied=, backprop=)`` to check keys."""
    P = inspect.Parameter
    params = [
        P("layers", P.KEYWORD_ONLY, default=16, annotation=int),
        P("learn", P.KEYWORD_ONLY, default="all", annotation=str | list),
        P("tied", P.KEYWORD_ONLY, default=False, annotation=bool | list),
        P("backprop", P.KEYWORD_ONLY, default="full", annotation=str),
    ]
    params += [
        P(name, P.KEYWORD_ONLY, default=None, annotation=float | str)
        for name in cls.param_specs  # type: ignore[attr-defined]
        if name not in UNROLL_KEYS
    ]

    def unrolled_algorithm(**kwargs: Any) -> None:  # pragma: no cover - never called
        pass

    unrolled_algorithm.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    unrolled_algorithm.__annotations__ = {p.name: p.annotation for p in params}
    return unrolled_algorithm


def check_config(data: Mapping[str, Any], text: str = "") -> RunConfig:
    """Check a config read by `unrolled.config.load_yaml`, section by section.

    Raises:
        ConfigError: naming the key (``model.layrs``, ``problem.name``, …).
    """
    model = dict(data.get("model") or {})
    model_name = _name("model", model, sorted(list_models("model") + list_models("algorithm")))
    del model["name"]
    if model_name in list_models("algorithm"):
        check_kwargs(_algorithm_signature(get(model_name)), model, "model")
    else:
        check_kwargs(get(model_name), model, "model", skip=("operator",))
    problem = dict(data.get("problem") or {})
    problem_name = _name("problem", problem, sorted(PROBLEMS))
    del problem["name"]
    check_kwargs(PROBLEMS[problem_name], problem, "problem")
    train = dict(data.get("train") or {})
    check_kwargs(training.fit, train, "train", skip=FIT_SKIP)
    return RunConfig(model_name, model, problem_name, problem, train, data.get("run_dir"), text)


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and check the run config at ``path``."""
    data = load_yaml(path)
    return check_config(data, Path(path).read_text())


def _in_section(section: str, kwargs: Mapping[str, Any], error: Exception) -> ConfigError:
    """An error a constructor raised, as a `ConfigError` naming the section (and the key)."""
    message = str(error)
    key = message.split(":", 1)[0]
    if key in kwargs:
        return ConfigError(f"{section}.{message}")
    return ConfigError(f"{section}: {message}")


def build_problem(config: RunConfig, **overrides: Any) -> Any:
    """The config's problem, with ``overrides`` of its keyword arguments."""
    kwargs = {**config.problem_kwargs, **overrides}
    try:
        return PROBLEMS[config.problem](**kwargs)
    except (ValueError, TypeError) as e:
        raise _in_section("problem", kwargs, e) from None


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
        raise _in_section("model", config.model_kwargs, e) from None


@torch.no_grad()
def validation_nmse_db(model: nn.Module, problem: Any, size: int | None = None) -> float:
    """Mean NMSE (dB) of the model's output on (the first ``size`` samples of) the validation set."""
    x, y, *A = problem.validation
    if size is not None:
        x, y = x[:size], y[:size]
    model.eval()
    if A:  # a per-sample operator cannot be sliced: measure the whole set
        return validation_set_nmse_db(model, x, y, model.layers, A=A[0])
    return float(nmse_db(model(y), x))


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
        raise _in_section("train", train, e) from None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    model: nn.Module
    problem: Any
    val_nmse_db: float  # at full depth, mean over the validation samples fit used
    validation_size: int
    resumed: bool


def train_run(
    config_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str] | None = None,
    max_seconds: float | None = None,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
    overrides: Mapping[str, Any] | None = None,
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
            ``--device``, ``--precision``, ``--compile``).

    Raises:
        ConfigError: a key of the config is unknown, ill-typed or invalid (named).
        ValueError: the run directory holds a run and ``resume`` is not set, or the contrary.
    """
    config = load_config(config_path)
    extra = dict(overrides or {})
    if max_seconds is not None:
        extra["max_seconds"] = max_seconds
    if extra:
        config = replace(config, train={**config.train, **extra})
    target = Path(run_dir or config.run_dir or Path("runs") / Path(config_path).stem)
    saved = target / CONFIG_YAML
    if resume:
        if not (target / STATE).is_file():
            raise ValueError(f"--resume: {str(target)!r} holds no run to resume ({STATE})")
        if saved.is_file():
            before = load_config(saved)
            for section in ("model", "problem"):
                old = (getattr(before, section), getattr(before, f"{section}_kwargs"))
                new = (getattr(config, section), getattr(config, f"{section}_kwargs"))
                if old != new:
                    raise ConfigError(
                        f"{section}: the run in {str(target)!r} was trained with {section} "
                        f"{old[0]!r} {old[1]}, the config gives {new[0]!r} {new[1]}"
                    )
    elif (target / STATE).exists():
        raise ValueError(
            f"run_dir: {str(target)!r} already holds a run; pass --resume to continue it, or "
            f"choose another --run-dir"
        )
    problem = build_problem(config)
    model = build_model(config, problem)
    _check_fit(model, problem, config.train)
    target.mkdir(parents=True, exist_ok=True)
    if not (resume and saved.is_file()):
        atomic_write(saved, config.text.encode())
    if log is not None:
        settings = ", ".join(f"{k} {v}" for k, v in config.train.items())
        recipe = getattr(model, "recipe", None)
        how = f"; its recipe: {recipe.summary()}" if recipe is not None else ""
        log(
            f"{'Resuming' if resume else 'Training'} {config.model} ({model.layers} layers) on "
            f"{problem!r}{how}{'; overrides: ' + settings if settings else ''}; run directory "
            f"{target}"
        )
    try:
        fit(model, problem, run_dir=target, resume=target if resume else None, **config.train)
    except TypeError as e:
        raise ConfigError(f"train: {e}") from None
    except ValueError as e:
        message = str(e)
        if message.startswith("resume:"):
            raise ValueError(message.replace("resume=", "--resume ")) from None
        raise _in_section("train", config.train, e) from None
    size = config.train.get("validation_size") or int(problem.validation[0].shape[0])
    nmse = validation_nmse_db(model, problem, size)
    return TrainResult(target, model, problem, nmse, size, resume)


@dataclass(frozen=True)
class Evaluation:
    """Per-layer test NMSE (dB), each ``(K,)``: the network's mean and median, ISTA's and
    FISTA's mean at the same iteration."""

    config: RunConfig
    problem: Any
    test_size: int
    mean: Tensor
    median: Tensor
    ista: Tensor
    fista: Tensor


def _per_layer(trace: Tensor, x: Tensor, reduction: str) -> Tensor:
    return torch.stack([nmse_db(t, x, reduction=reduction) for t in trace])


@torch.no_grad()
def evaluate(
    run_dir: str | os.PathLike[str], test_size: int | None = None, device: str = "cpu"
) -> Evaluation | ImageEvaluation | DetectionEvaluation | RatingEvaluation:
    """Rebuild a `train_run` run from its directory and measure it on the test set, the
    network running on ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``: see
    `unrolled.train.device`; the data and the classical baselines stay on the CPU).

    Raises:
        FileNotFoundError: ``run_dir`` is not a run directory (names the missing path).
        ValueError: ``device`` is not available here.
    """
    where = resolve_device(device)
    run = Path(run_dir)
    for name in (CONFIG_YAML, WEIGHTS):
        if not (run / name).is_file():
            what = "directory" if not run.is_dir() else f"run directory: no {run / name}"
            raise FileNotFoundError(
                f"RUN_DIR: {str(run)!r} is not a {what} (expected the {CONFIG_YAML} and "
                f"{WEIGHTS} that `unrolled train` writes)"
            )
    config = load_config(run / CONFIG_YAML)
    overrides = {} if test_size is None else {"test_size": test_size}
    problem = build_problem(config, **overrides)
    model = build_model(config, problem)
    prepare_model(model, problem)  # the recipe's problem-dependent choices, as fit made them
    load_weights(model, run)
    model.eval()
    model = OnDevice(model, where)
    if isinstance(problem, MIMODetection):
        return _evaluate_detection(config, problem, model)
    if isinstance(problem, RatingCompletion):
        return _evaluate_ratings(config, problem, model)
    if len(problem.test) == 3:
        return _evaluate_images(config, problem, model)
    x, y = problem.test
    _, trace = model(y, trace=True)  # (K, B, n)
    K = trace.shape[0]
    lam = CLASSICAL_LAMBDA
    _, ista = ISTA(threshold=lam).run(y, problem.operator, iterations=K, trace=True)
    _, fista = FISTA(threshold=lam).run(y, problem.operator, iterations=K, trace=True)
    return Evaluation(
        config,
        problem,
        int(x.shape[0]),
        _per_layer(trace, x, "mean"),
        _per_layer(trace, x, "median"),
        _per_layer(ista, x, "mean"),
        _per_layer(fista, x, "mean"),
    )


@dataclass(frozen=True)
class ImageEvaluation:
    """An imaging run on the held-out test images: PSNR (dB, data range 1, magnitudes for
    complex images) after each layer ``(K,)``, SSIM at the output, and the PSNR of the linear
    reconstruction ``(AᴴA + 0.01 I)⁻¹ Aᴴy`` (zero-filling for MRI) for reference."""

    config: RunConfig
    problem: Any
    test_size: int
    psnr: Tensor
    ssim: float
    linear_psnr: float


def _evaluate_images(config: RunConfig, problem: Any, model: Any) -> ImageEvaluation:
    x, y, A = problem.test
    _, trace = model(y, A, trace=True)  # (K, B, *shape)
    per_layer = torch.stack([psnr(t, x, 1.0) for t in trace])
    linear = A.solve_gram(A.H(y), 0.01)
    return ImageEvaluation(
        config,
        problem,
        int(x.shape[0]),
        per_layer,
        float(ssim(trace[-1], x, 1.0)),
        float(psnr(linear, x, 1.0)),
    )


@dataclass(frozen=True)
class DetectionEvaluation:
    """A MIMO detection run on its test set (SNRs drawn from the training range): symbol error
    rate after each layer ``(K,)`` (hard decisions), and MMSE's and OAMP's (as many
    iterations) on the same samples."""

    config: RunConfig
    problem: Any
    test_size: int
    ser: Tensor
    mmse_ser: float
    oamp_ser: float


def _evaluate_detection(config: RunConfig, problem: Any, model: Any) -> DetectionEvaluation:
    x, y, A = problem.test
    truth = problem.indices(x)
    _, trace = model(y, A, trace=True)  # (K, B, n)
    ser = torch.stack([(problem.indices(t) != truth).double().mean() for t in trace])
    c = problem.constellation
    # the classical detectors work on the complex system when the run used its real equivalent
    _cx, cy, cA = problem.test if not problem.real else problem.complex_test
    oamp = OAMP(c).run(cy, cA, iterations=int(trace.shape[0]))
    return DetectionEvaluation(
        config,
        problem,
        int(x.shape[0]),
        ser,
        float((c.nearest(mmse(cy, cA)) != truth).double().mean()),
        float((c.nearest(oamp) != truth).double().mean()),
    )


@dataclass(frozen=True)
class RatingEvaluation:
    """A matrix-completion run on its split's test ratings, predicted from every training
    rating: RMSE and MAE after each layer ``(K,)`` (clipped to the training ratings' scale), and
    the RMSE of the classical algorithm the network started from, after as many iterations."""

    config: RunConfig
    problem: Any
    test_size: int
    rmse: Tensor
    mae: Tensor
    classical_rmse: Tensor


def _evaluate_ratings(config: RunConfig, problem: Any, model: Any) -> RatingEvaluation:
    from .analysis.recsys import scores

    y, A = problem.inputs()
    _, trace = model(y, A, trace=True)  # (K, 1, U, I)
    _, classical = model.algorithm.run(y, A, iterations=int(trace.shape[0]), trace=True)
    ours = [scores(t, problem) for t in trace]
    return RatingEvaluation(
        config,
        problem,
        len(problem.test),
        torch.tensor([s["rmse"] for s in ours]),
        torch.tensor([s["mae"] for s in ours]),
        torch.tensor([scores(t, problem)["rmse"] for t in classical]),
    )


def format_evaluation(
    result: Evaluation | ImageEvaluation | DetectionEvaluation | RatingEvaluation,
) -> str:
    """The per-layer table of `evaluate`, with a header line."""
    if isinstance(result, RatingEvaluation):
        lines = [
            f"Test RMSE and MAE of {result.config.model} on {result.problem!r} "
            f"({result.test_size} test ratings), and its classical algorithm's RMSE at the same "
            "number of iterations:",
            f"{'layer':>5}  {'RMSE':>8}  {'MAE':>8}  {'classical':>9}",
        ]
        lines.append("-" * len(lines[-1]))
        for k in range(len(result.rmse)):
            lines.append(
                f"{k + 1:>5}  {float(result.rmse[k]):>8.4f}  {float(result.mae[k]):>8.4f}  "
                f"{float(result.classical_rmse[k]):>9.4f}"
            )
        return "\n".join(lines)
    if isinstance(result, DetectionEvaluation):
        lines = [
            f"Test symbol error rate of {result.config.model} on {result.problem!r}, "
            f"{result.test_size} samples; MMSE {result.mmse_ser:.2e}, OAMP "
            f"({len(result.ser)} iterations) {result.oamp_ser:.2e}:",
            f"{'layer':>5}  {'SER':>10}",
            "-" * 17,
        ]
        lines += [f"{k + 1:>5}  {float(v):>10.2e}" for k, v in enumerate(result.ser)]
        return "\n".join(lines)
    if isinstance(result, ImageEvaluation):
        lines = [
            f"Test PSNR (dB) of {result.config.model} on {result.problem!r}, "
            f"{result.test_size} held-out images; linear reconstruction {result.linear_psnr:.2f} dB:",
            f"{'layer':>5}  {'PSNR':>8}",
            "-" * 15,
        ]
        lines += [f"{k + 1:>5}  {float(v):>8.2f}" for k, v in enumerate(result.psnr)]
        lines.append(f"SSIM at the output: {result.ssim:.4f}")
        return "\n".join(lines)

    def db(value: Tensor) -> str:
        v = float(value)
        return f"{v:>11.2f}" if math.isfinite(v) else f"{v:>11}"

    lines = [
        f"Test NMSE (dB) of {result.config.model} on {result.problem!r}, "
        f"{result.test_size} test samples; ISTA and FISTA (threshold {CLASSICAL_LAMBDA:g}) at the same "
        "number of iterations:",
        f"{'layer':>5}  {'mean':>11}  {'median':>11}  {'ISTA mean':>11}  {'FISTA mean':>11}",
    ]
    lines.append("-" * len(lines[-1]))
    for k in range(len(result.mean)):
        row = (result.mean[k], result.median[k], result.ista[k], result.fista[k])
        lines.append(f"{k + 1:>5}  " + "  ".join(db(v) for v in row))
    return "\n".join(lines)


__all__ = [
    "CONFIG_YAML",
    "DetectionEvaluation",
    "Evaluation",
    "ImageEvaluation",
    "RatingEvaluation",
    "RunConfig",
    "TrainResult",
    "build_model",
    "build_problem",
    "check_config",
    "evaluate",
    "format_evaluation",
    "load_config",
    "train_run",
]
