"""`FitConfig`: `fit`'s arguments, checked at the boundary, and the JSON that describes a run."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from torch import nn

from ..core.checks import choice, is_real, number_sequence, positive_int, positive_number
from .device import PRECISIONS
from .losses import LOSSES
from .schedules import SCHEDULES

LR_SCHEDULES = ("constant", "cosine")

#: Arguments that shape the training trajectory: a resumed run must be given the same ones.
#: (``max_steps`` and ``max_seconds`` may change: the budget left is re-shared from then on.)
TRAJECTORY = (
    "schedule",
    "lr",
    "lr_factors",
    "batch_size",
    "loss",
    "layer_weights",
    "refine",
    "decay",
    "patience",
    "min_delta",
    "eval_every",
    "validation_size",
    "lr_schedule",
    "clip",
    "stage_steps",
    "restore_best",
    "warm_start",
    "precision",
)
#: Settings that only some schedules use: a recipe's are dropped when the caller chooses a
#: schedule that does not use them (an explicit one is still checked and rejected).
SCHEDULE_SETTINGS = {
    "layer_weights": ("deep-supervision",),
    "refine": ("layerwise", "stagewise"),
    "decay": ("layerwise", "stagewise"),
    "warm_start": ("layerwise", "stagewise"),
}


def _factors(value: Any) -> dict[str, float] | None:
    """``lr_factors``: ``None``, or a mapping of learned param (or slot) names to positive
    finite rate factors."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(
            f"lr_factors: expected a mapping of learned param names to rate factors, e.g. "
            f"{{'D': 0.03}}, got {type(value).__name__}"
        )
    out = {}
    for name, factor in value.items():
        if not isinstance(name, str):
            raise TypeError(f"lr_factors: expected param names (str) as keys, got {name!r}")
        out[name] = positive_number(factor, f"lr_factors[{name!r}]")
    return out


class _FromRecipe:
    """The default of `fit`'s training settings: the model's recipe's value, else `DEFAULTS`'."""

    _instance: _FromRecipe | None = None

    def __new__(cls) -> _FromRecipe:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<recipe>"


#: `fit`'s default for every training setting: the model's recipe decides (see `resolve_settings`).
RECIPE: Any = _FromRecipe()


@dataclass(frozen=True)
class FitConfig:
    """`fit`'s training settings, checked: the one list of them. ``fit(model, problem,
    **settings)`` and a run config's ``train:`` section take these names.

    The field defaults are the library's, used where neither the call nor the model's recipe
    (`unrolled.Recipe`) sets a value.

    Attributes:
        schedule: ``"stagewise"`` (Chen et al. 2018; the library default), ``"layerwise"``
            (Borgerding et al. 2017), ``"end-to-end"`` or ``"deep-supervision"``; see
            `unrolled.train.schedules`.
        max_seconds: wall-clock budget of the training, or ``None`` (see `fit`'s Budgets).
        lr: Adam's base learning rate (library default 1e-3).
        lr_factors: rates relative to ``lr`` for some learned params or slots, by name, e.g.
            ``{"D": 0.03}`` (library default none: every param at ``lr``).
        batch_size: training samples per step (library default 64).
        loss: ``"nmse_db"`` (library default), ``"nmse"`` or ``"mse"``; see
            `unrolled.train.losses`.
        layer_weights: deep supervision's K per-layer loss weights (default uniform), or
            ``"log"``: log(k) for layer k (DetNet's, which leaves layer 1 out).
        refine: layer-wise/stage-wise refinement learning-rate factors (default ``(0.1,)`` /
            ``(0.2, 0.02)``).
        decay: stage-wise's slow-down of earlier layers per new layer (default 0.3; layer-wise
            1.0).
        patience: a stage ends after this many steps without a validation improvement of more
            than ``min_delta`` (library default 300), or ``None`` for no early stopping.
        min_delta: the smallest validation improvement that counts, in the units of the
            problem's metric (library default: the metric's own, ``Metric.min_delta``: 0.01 dB
            for NMSE and PSNR, 0 for an error rate, 1e-4 for RMSE).
        eval_every: steps between validation evaluations.
        validation_size: evaluate on the first this-many validation samples (default all).
        lr_schedule: ``"constant"``, or ``"cosine"``: within each stage, the learning rate
            follows ``½(1 + cos(π·u))`` of the stage's, ``u`` the share of the stage's budget
            spent (needs ``max_steps``, ``max_seconds`` or ``stage_steps``).
        clip: clip the global gradient norm of the trained parameters to this, or ``None``.
        max_steps: total optimiser steps, or ``None``. Shared out as it goes (see Budgets).
        stage_steps: at most this many steps per stage, or ``None``.
        checkpoint_every: steps between checkpoints (also written when each stage opens and at
            the end), or ``None`` for those only.
        restore_best: at the end of each stage, go back to the weights of its best validation
            score (kept in memory and in the checkpoint).
        warm_start: layer-wise and stage-wise schedules: a layer trained for the first time
            starts from the previous layer's trained values (its params, its per-layer
            modules) rather than from its own initial ones (`unrolled.Unrolled.copy_layer`).
            Deep layers of a network trained to a low error start near where they end, not at
            a first iteration's large threshold.
        device: ``"auto"`` (CUDA when present, else the CPU), ``"cpu"``, ``"cuda"`` or
            ``"cuda:N"``: the model (its operator with it) moves there, and so does the
            problem when it can (``problem.to(device)``: batches drawn on the device, from a
            generator seeded as on the CPU); batches of other problems are copied there. See
            `unrolled.train.device`.
        precision: ``"fp32"``, ``"bf16"`` (CPU or GPU) or ``"fp16"`` (GPU, with a gradient
            scaler): the forward under `torch.autocast`, the loss in fp32.
        compile: run the training forward and backward through `torch.compile` (compiled
            once per depth; on CUDA with ``mode="reduce-overhead"``, CUDA graphs). Validation
            runs eagerly.
        check_finite: reject NaN or Inf in the validation set and in the first training batch
            (``y``; ``x`` may mark unobserved entries NaN, as matrix completion does, but holds no
            Inf), naming the set and the samples, before any step. Off, nothing is checked (data
            already trusted); a NaN score still stops training.
    """

    schedule: str = "stagewise"
    lr: float = 1e-3
    lr_factors: Mapping[str, float] | None = None
    batch_size: int = 64
    loss: str = "nmse_db"
    layer_weights: tuple[float, ...] | str | None = None
    refine: tuple[float, ...] | None = None
    decay: float | None = None
    patience: int | None = 300
    min_delta: float | None = None  # None: the problem's metric's (`Metric.min_delta`)
    eval_every: int = 50
    validation_size: int | None = None
    lr_schedule: str = "constant"
    clip: float | None = None
    max_steps: int | None = None
    max_seconds: float | None = None
    stage_steps: int | None = None
    checkpoint_every: int | None = 1000
    restore_best: bool = True
    warm_start: bool = False
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    check_finite: bool = True

    @classmethod
    def checked(cls, layers: int, validation: int, **kwargs: Any) -> FitConfig:
        """Check every argument; ``layers`` is the model's K, ``validation`` the validation set's size."""
        k = kwargs
        schedule = choice(k["schedule"], "schedule", SCHEDULES)
        layer_weights = k["layer_weights"]
        if layer_weights is not None:
            if schedule != "deep-supervision":
                raise ValueError(
                    f"layer_weights: only the 'deep-supervision' schedule weighs layers, got "
                    f"schedule={schedule!r}"
                )
            if layer_weights == "log":  # DetNet's log(k), k = 1..K
                layer_weights = tuple(math.log(i) for i in range(1, layers + 1))
            layer_weights = number_sequence(
                layer_weights, "layer_weights", "non-negative numbers or 'log'"
            )
            if len(layer_weights) != layers:
                raise ValueError(
                    f"layer_weights: expected {layers} weights (one per layer), got "
                    f"{len(layer_weights)}"
                )
            if min(layer_weights) < 0 or sum(layer_weights) <= 0:
                raise ValueError(
                    f"layer_weights: expected non-negative weights with a positive sum, got "
                    f"{list(layer_weights)}"
                )
        grows = schedule in ("layerwise", "stagewise")
        refine, decay = k["refine"], k["decay"]
        if refine is not None:
            if not grows:
                raise ValueError(
                    f"refine: only the 'layerwise' and 'stagewise' schedules refine, got "
                    f"schedule={schedule!r}"
                )
            refine = number_sequence(refine, "refine", "positive learning-rate factors")
            if any(r <= 0 for r in refine):
                raise ValueError(
                    f"refine: expected positive learning-rate factors, got {list(refine)}"
                )
        if decay is not None:
            if not grows:
                raise ValueError(
                    f"decay: only the 'layerwise' and 'stagewise' schedules slow earlier layers "
                    f"down, got schedule={schedule!r}"
                )
            if not (is_real(decay) and 0 < decay <= 1):
                raise ValueError(f"decay: expected a number in (0, 1], got {decay!r}")
            decay = float(decay)
        min_delta = k["min_delta"]  # None: the problem's metric's own (`fit` resolves it)
        if min_delta is not None and not (is_real(min_delta) and min_delta >= 0):
            raise ValueError(
                f"min_delta: expected a finite number >= 0 (in the problem metric's units), got "
                f"{min_delta!r}"
            )
        validation_size = positive_int(k["validation_size"], "validation_size", optional=True)
        if validation_size is not None and validation_size > validation:
            raise ValueError(
                f"validation_size: expected at most the problem's {validation} validation "
                f"samples, got {validation_size}"
            )
        if not isinstance(k["restore_best"], bool):
            raise TypeError(f"restore_best: expected a bool, got {k['restore_best']!r}")
        if not isinstance(k["warm_start"], bool):
            raise TypeError(f"warm_start: expected a bool, got {k['warm_start']!r}")
        for flag in ("compile", "check_finite"):
            if not isinstance(k[flag], bool):
                raise TypeError(f"{flag}: expected a bool, got {k[flag]!r}")
        device = k["device"]
        if not isinstance(device, str):
            raise TypeError(
                f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {type(device).__name__}"
            )
        if k["warm_start"] and not grows:
            raise ValueError(
                f"warm_start: only the 'layerwise' and 'stagewise' schedules add layers, got "
                f"schedule={schedule!r}"
            )
        config = cls(
            schedule=schedule,
            lr=positive_number(k["lr"], "lr"),
            lr_factors=_factors(k["lr_factors"]),
            batch_size=positive_int(k["batch_size"], "batch_size"),
            loss=choice(k["loss"], "loss", LOSSES),
            layer_weights=layer_weights,
            refine=refine,
            decay=decay,
            patience=positive_int(k["patience"], "patience", optional=True),
            min_delta=None if min_delta is None else float(min_delta),
            eval_every=positive_int(k["eval_every"], "eval_every"),
            validation_size=validation_size,
            lr_schedule=choice(k["lr_schedule"], "lr_schedule", LR_SCHEDULES),
            clip=positive_number(k["clip"], "clip", optional=True),
            max_steps=positive_int(k["max_steps"], "max_steps", optional=True),
            max_seconds=positive_number(k["max_seconds"], "max_seconds", optional=True),
            stage_steps=positive_int(k["stage_steps"], "stage_steps", optional=True),
            checkpoint_every=positive_int(k["checkpoint_every"], "checkpoint_every", optional=True),
            restore_best=k["restore_best"],
            warm_start=k["warm_start"],
            device=device,
            precision=choice(k["precision"], "precision", PRECISIONS),
            compile=k["compile"],
            check_finite=k["check_finite"],
        )
        budgets = (config.max_steps, config.max_seconds, config.stage_steps)
        if all(b is None for b in budgets) and config.patience is None:
            raise ValueError(
                "max_steps, max_seconds, stage_steps, patience: expected at least one way for "
                "training to end, got all None"
            )
        if config.lr_schedule == "cosine" and all(b is None for b in budgets):
            raise ValueError(
                "lr_schedule: 'cosine' decays over each stage's budget; give max_steps, "
                "max_seconds or stage_steps"
            )
        return config

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


#: The training settings (`FitConfig`'s fields) and their library defaults.
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(FitConfig)}
#: Settings that bound training; a recipe's annealing or its lack of early stopping needs one.
BUDGETS = ("max_steps", "max_seconds", "stage_steps")


def resolve_settings(model: Any, problem: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """`fit`'s settings for ``model`` on ``problem``: `DEFAULTS`, then the model's recipe
    (``model.recipe``, fixed and derived settings), then ``given`` (the caller's), field by field.

    A recipe's settings that the chosen schedule does not use (`SCHEDULE_SETTINGS`) are
    dropped, so that ``schedule=`` overrides a recipe cleanly. A recipe's
    ``lr_schedule="cosine"`` and ``patience=None`` (anneal over the budget, no early
    stopping) need a budget: without one given anywhere, they fall back to `DEFAULTS`' constant
    rate and patience, so that ``fit(model, problem)`` always ends.

    Raises:
        ValueError: ``given`` or the recipe names a setting that does not exist.
    """
    for name in given:
        if name not in DEFAULTS:
            raise ValueError(f"{name}: not a training setting; expected one of {sorted(DEFAULTS)}")
    recipe = getattr(model, "recipe", None)
    from_recipe: dict[str, Any] = {}
    if recipe is not None:
        from_recipe = recipe.resolve(model, problem)
        for name in from_recipe:
            if name not in DEFAULTS:
                raise ValueError(
                    f"model.recipe: {name!r} is not a training setting; expected some of "
                    f"{sorted(DEFAULTS)}"
                )
    schedule = given.get("schedule", from_recipe.get("schedule", DEFAULTS["schedule"]))
    for name, schedules in SCHEDULE_SETTINGS.items():
        if schedule not in schedules:
            from_recipe.pop(name, None)
    settings = {**DEFAULTS, **from_recipe, **given}
    if settings["min_delta"] is None:  # a margin in the units of the problem's own metric
        metric = getattr(problem, "metric", None)
        settings["min_delta"] = 0.01 if metric is None else metric.min_delta
    if all(settings[b] is None for b in BUDGETS):
        if "lr_schedule" not in given and settings["lr_schedule"] == "cosine":
            settings["lr_schedule"] = DEFAULTS["lr_schedule"]
        if "patience" not in given and settings["patience"] is None:
            settings["patience"] = DEFAULTS["patience"]
    return settings


def prepare_model(model: Any, problem: Any) -> None:
    """Let the model's recipe set its problem-dependent choices (``Recipe.prepare``), if any."""
    recipe = getattr(model, "recipe", None)
    if recipe is not None and recipe.prepare is not None:
        recipe.prepare(model, problem)


def check_model(model: Any) -> int:
    """The model's depth K; a clear error unless it is an unrolled network."""
    layers = getattr(model, "layers", None)
    if not isinstance(model, nn.Module) or isinstance(layers, bool) or not isinstance(layers, int):
        raise TypeError(
            f"model: expected an unrolled network (an nn.Module with an int attribute `layers`, "
            f"called as model(y, trace=..., depth=...)), got {type(model).__name__}"
        )
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            "model: expected at least one parameter to learn, got none (unroll(..., learn=...) "
            "or replace=...)"
        )
    return layers


def check_problem(problem: Any) -> None:
    """A clear error unless ``problem`` has ``sample(batch)`` and a ``validation`` set, a pair
    ``(x, y)`` or a triple ``(x, y, A)`` (samples with their own operator)."""
    if not callable(getattr(problem, "sample", None)) or not hasattr(problem, "validation"):
        raise TypeError(
            f"problem: expected a problem with .sample(batch) -> (x, y) or (x, y, A) and a "
            f".validation set of the same form (e.g. unrolled.data.SparseCoding), got "
            f"{type(problem).__name__}"
        )
    validation = problem.validation
    if not isinstance(validation, tuple | list) or len(validation) not in (2, 3):
        raise TypeError(
            f"problem.validation: expected (x, y) or (x, y, A), got {type(validation).__name__}"
            f"{f' of length {len(validation)}' if isinstance(validation, tuple | list) else ''}"
        )


def check_path(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a directory path or None, got {type(value).__name__}")
    return os.fspath(value)


def check_callable(value: Any, name: str, what: str) -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise TypeError(f"{name}: expected {what} or None, got {type(value).__name__}")
    return value


def check_progress(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"progress: expected True, False or None (auto), got {value!r}")
    return value


def describe_model(model: nn.Module) -> dict[str, Any]:
    """A JSON description of an unrolled network: type, layers, learned names, shapes."""
    out: dict[str, Any] = {"type": type(model).__name__, "layers": model.layers}
    algorithm = getattr(model, "algorithm", None)
    if algorithm is not None:
        out["algorithm"] = type(algorithm).__name__
        out["iteration"] = repr(algorithm)  # with the choices a recipe prepared (support)
    for attr in ("learned", "tied"):
        if hasattr(model, attr):
            out[attr] = (
                sorted(getattr(model, attr)) if attr == "tied" else list(getattr(model, attr))
            )
    slots = getattr(model, "slots", None)
    if isinstance(slots, nn.ModuleDict):
        out["slots"] = {
            name: "per-layer" if isinstance(m, nn.ModuleList) else type(m).__name__
            for name, m in slots.items()
        }
    out["parameters"] = {n: list(p.shape) for n, p in model.named_parameters()}
    return out


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The trajectory-shaping arguments whose values differ: ``"name: run had X, got Y"``. A
    setting a run's record lacks (written before the setting existed) had its default."""
    return [
        f"{name}: the run had {saved.get(name, DEFAULTS[name])!r}, got {now.get(name)!r}"
        for name in TRAJECTORY
        if saved.get(name, DEFAULTS[name]) != now.get(name)
    ]


__all__ = [
    "DEFAULTS",
    "LR_SCHEDULES",
    "RECIPE",
    "FitConfig",
    "describe_model",
    "prepare_model",
    "resolve_settings",
]
