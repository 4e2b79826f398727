"""`fit`: train an unrolled network with a schedule, early stopping, checkpoints and exact resume."""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..core.checks import check_finite, device_memory, is_real
from ..metrics import Metric, nmse_db_metric
from . import checkpoint as ckpt
from .config import (
    RECIPE,
    FitConfig,
    check_callable,
    check_model,
    check_path,
    check_problem,
    check_progress,
    describe_model,
    differences,
    prepare_model,
    resolve_settings,
)
from .device import Precision, compile_model, move, place, resolve_device
from .distributed import Distributed, launched
from .layer_rates import LayerRates, check_factors, layer_owners
from .lock import LOCK, run_lock
from .losses import supervised_loss, validation_totals
from .progress import Progress
from .schedules import Stage, build_stages

#: The training clock (seconds); a module attribute so that tests can drive time.
_clock = time.perf_counter


def fit(
    model: nn.Module,
    problem: Any,
    schedule: str = RECIPE,
    max_seconds: float | None = RECIPE,
    run_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    *,
    progress: bool | None = None,
    callback: Any = None,
    **settings: Any,
) -> nn.Module:
    """Train ``model`` on ``problem`` with Adam, following ``schedule``; returns ``model``.

    Every training setting defaults to the model's recipe (``model.recipe``, registered with the
    model: `unrolled.Recipe`; its problem-dependent settings derived from ``problem``), else to
    the library's default (`FitConfig`'s field defaults); each argument given overrides its
    field. So ``fit(ur.create("alista", operator=A), problem,
    max_seconds=150)`` trains ALISTA as its recipe says on any problem size. Before training,
    the recipe may set the model's own problem-dependent choices (``Recipe.prepare``: e.g. the
    support selection of LISTA-CPSS and ALISTA from the data's sparsity).

    Every step draws ``batch_size`` samples ``(x, y) = problem.sample(batch_size)`` (fresh ones,
    or a batch of a fixed training set: the problem decides), or ``(x, y, A)`` when each batch
    has its own operator (per-sample masks or kernels; the model is called ``model(y, A)``), and
    takes one Adam step on the stage's loss; every ``eval_every`` steps (and when a stage opens
    and ends) the problem's score (``problem.metric``: NMSE in dB, PSNR, symbol error rate,
    RMSE; NMSE in dB for a problem that names none) over ``problem.validation`` at the stage's
    depth is measured (`unrolled.train.losses.validation_score`), and early stopping and
    ``restore_best`` follow it, in its direction (higher PSNR, lower error).

    Args:
        model: an unrolled network (`unrolled.Unrolled` or a zoo model): an ``nn.Module`` with
            ``layers`` (K), called as ``model(y, trace=..., depth=...)``. Trained in place.
        problem: ``.sample(batch) -> (x, y)`` and ``.validation -> (x, y)``, or triples
            ``(x, y, A)`` whose ``A`` is the batch's own operator; for an exact
            resume also ``.generator``, the ``torch.Generator`` of the training stream (e.g.
            `unrolled.data.SparseCoding`).
        schedule: ``"stagewise"`` (Chen et al. 2018; the library default), ``"layerwise"``
            (Borgerding et al. 2017), ``"end-to-end"`` or ``"deep-supervision"``; see
            `unrolled.train.schedules`.
        max_seconds: wall-clock budget of the training, or ``None``: counted from the first
            stage's start (after one-off imports), evaluations and checkpoints included; a
            resumed run goes on counting from the checkpoint's time. Shared out as it goes
            (see Budgets).
        run_dir: a directory for ``config.json``, ``metrics.jsonl``, ``weights.safetensors`` and
            the resume state with their checksums (see `unrolled.train.checkpoint`), or
            ``None`` to write nothing. It must not hold a run already unless it is the one
            resumed. It is locked while `fit` writes there (`unrolled.train.lock`), and a start
            that fails before its first step leaves nothing in it.
        resume: the run directory of an interrupted run: ``fit`` loads its last checkpoint into
            ``model`` and continues (writing there too unless ``run_dir`` says otherwise). Give
            the same model and arguments as the first time; with the same budgets the result
            is bit-identical to an uninterrupted run (CPU). A finished run just loads.
        **settings: any other training setting, by name: `FitConfig` lists them all, with
            their library defaults and meaning (``lr``, ``batch_size``, ``loss``,
            ``patience``, ``eval_every``, ``device``, ``precision``, ``compile``, …). An unknown
            name is an error that names it.
        progress: a tqdm bar (budget used, ETA, loss, validation score, stage): ``None`` shows it
            when stderr is a terminal, ``True`` always, ``False`` never.
        callback: ``callback(info)`` after every step, ``info`` a dict with ``step``, ``stage``,
            ``stages``, ``label``, ``layer``, ``stage_step``, ``loss``, ``lr``, ``seconds``,
            ``val`` (the latest validation score) and ``metric`` (its key, e.g. ``"nmse_db"``,
            ``"ser"``). An exception it raises stops training at once, without
            a checkpoint, as a kill would. With a callback each step's loss is read on the host
            (on a GPU, a synchronisation per step).

    Under torchrun (``WORLD_SIZE`` > 1) `fit` trains with DistributedDataParallel by itself:
    ``batch_size`` is the global batch, split over the processes, each drawing from its own
    stream; validation is averaged over them; decisions are taken together; rank 0 writes
    ``run_dir``; ``callback`` runs on every process. See `unrolled.train.distributed`.

    Budgets: when a stage opens it gets an equal share of what is left. Of the steps left
    (``max_steps``), ``1/(stages left)``, the last stage all of it. Of the time left
    (``max_seconds``), after its opening evaluation and net of the evaluations the stages left
    will need (each opens and closes with one; their cost is measured as training goes), a
    share proportional to ``depth + 1`` (a step through k layers costs about k + 1 layers'
    work, the batch drawn included), so that the stages left get about as many steps each. A
    stage ending early by patience leaves its share to the later ones. When the step budget is
    spent, the current stage ends (final evaluation, best weights restored) and the stages
    left are skipped. When the time budget is spent, the current stage ends too and the
    refinements left are skipped, but every stage that adds a layer still trains it (at least
    one step): every layer is trained, however short the budget. The run overruns
    ``max_seconds`` by at most one step, one evaluation and the final checkpoint, plus, where
    the budget was too short to reach the last layer, one step and two evaluations per layer
    left. A step budget is reproducible (bit-identical on the CPU); a time budget is not.

    Returns:
        ``model``, trained (with ``restore_best``, at the last stage's best validation score).

    Raises:
        FloatingPointError: a NaN or Inf loss (or gradient norm, with ``clip``), or a
            validation output with NaN or Inf; the message names the step and the stage.
            Nothing is written after it: the last checkpoint in ``run_dir`` stays intact and
            loadable.
        BlockingIOError: another process is writing ``run_dir``; the message names it.
        unrolled.train.checkpoint.RunError: the run to resume is damaged beyond its previous
            checkpoint; the message names the file.
        ValueError, TypeError: an argument is invalid; the message names it.
    """
    given = {"schedule": schedule, "max_seconds": max_seconds, **settings}
    given = {k: v for k, v in given.items() if v is not RECIPE}
    layers = check_model(model)
    check_problem(problem)
    _check_operators(model, problem)
    settings = resolve_settings(model, problem, given)
    config = FitConfig.checked(layers, int(problem.validation[0].shape[0]), **settings)
    check_factors(model, config.lr_factors)
    run_dir = check_path(run_dir, "run_dir")
    resume = check_path(resume, "resume")
    callback = check_callable(callback, "callback", "a callable callback(info)")
    progress = check_progress(progress)
    stages = build_stages(
        config.schedule,
        layers,
        refine=config.refine,
        decay=config.decay,
        layer_weights=config.layer_weights,
    )
    device = resolve_device(config.device)
    check_batch_memory(config.batch_size, layers, problem, device)
    precision = Precision(config.precision, device)
    group = Distributed(device) if launched() else None
    if group is not None:
        group.local_batch(config.batch_size)
    place(model, problem, device)
    if group is not None:
        group.seed_stream(problem)
    prepare_model(model, problem)
    if resume is not None and not Path(resume).is_dir():
        raise FileNotFoundError(f"resume: expected a run directory, got {resume!r}")
    target = run_dir if run_dir is not None else resume
    writes = target is not None and (group is None or group.main)
    existed = writes and Path(target).exists()
    run = None
    with run_lock(target) if writes else contextlib.nullcontext():
        try:
            run = _Run(
                model, problem, config, stages, run_dir, resume, callback, device, precision, group
            )
            return run.train(progress)
        except BaseException:
            if writes and (run is None or run.failed_start()):
                _discard_start(Path(target), existed, run is not None)
            raise


def _discard_start(run_dir: Path, existed: bool, wrote: bool) -> None:
    """Remove what a start that failed before its first step wrote (so that running it again
    needs neither --resume nor rm), and the directory itself if this call made it."""
    if wrote:
        for name in ckpt.RUN_FILES:
            with contextlib.suppress(OSError):
                (run_dir / name).unlink()
    if not existed:
        with contextlib.suppress(OSError):
            (run_dir / LOCK).unlink()
            run_dir.rmdir()


@dataclass
class _Position:
    """Where a run stands: everything of the schedule's state that is not a tensor (JSON)."""

    stage: int = 0  # index of the current stage
    opened: bool = False  # the current stage's opening evaluation is done
    stage_step: int = 0
    step: int = 0  # optimiser steps in all
    seconds: float = 0.0  # training time so far
    stage_start: float = 0.0  # `seconds` when the stage opened
    budget: int | None = None  # the stage's step budget
    deadline: float | None = None  # `seconds` at which the stage's time share ends
    eval_cost: float = 0.0  # seconds of one evaluation per (depth + 1), the latest measured
    best: float | None = None  # the stage's best validation score
    best_step: int = 0  # stage_step of the best
    evaluated_at: int = -1  # stage_step of the latest evaluation
    last_val: float | None = None
    loss_sum: float = 0.0  # training losses since the latest evaluation
    loss_count: int = 0
    metrics: int = 0  # records in metrics.jsonl
    finished: bool = False

    @classmethod
    def from_json(cls, data: Any, where: str) -> _Position:
        """The position a checkpoint recorded, checked field by field (``where`` names the
        file in errors)."""
        if not isinstance(data, dict):
            raise ckpt.RunError(f"{where}: the state holds no position object")
        names = [f.name for f in fields(cls)]
        wrong = sorted(set(names) ^ set(data))
        if wrong:
            raise ckpt.RunError(
                f"{where}: the state's position has missing or unknown fields {wrong}"
            )
        for name in names:
            value, default = data[name], getattr(cls, name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif value is None:
                ok = name in _OPTIONAL
            elif name in _SCORES:  # -inf dB is a score (an exact recovery)
                ok = is_real(value) and not math.isnan(value)
            else:
                ok = (
                    is_real(value)
                    and math.isfinite(value)
                    and (value >= 0 or name == "evaluated_at")
                )
            if not ok:
                raise ckpt.RunError(f"{where}: the state's position has {name}={value!r}")
        return cls(**data)


#: Position fields that may be None, and those that are scores (any sign, ±inf).
_OPTIONAL = ("budget", "deadline", "best", "last_val")
_SCORES = ("best", "last_val", "loss_sum")


class _Run:
    """One call of `fit`: the loop, the evaluations and the checkpoints."""

    def __init__(
        self,
        model: nn.Module,
        problem: Any,
        config: FitConfig,
        stages: list[Stage],
        run_dir: str | None,
        resume: str | None,
        callback: Any,
        device: torch.device,
        precision: Precision,
        group: Distributed | None = None,
    ) -> None:
        self.model = model
        self.problem = problem
        self.config = config
        self.stages = stages
        # Σ (depth + 1) over the stages after each: the time shares' weights, summed once
        self.weights_after = [0] * len(stages)
        for i in range(len(stages) - 2, -1, -1):
            self.weights_after[i] = self.weights_after[i + 1] + stages[i + 1].depth + 1
        self.callback = callback
        self.device = device
        self.precision = precision
        self.group = group
        self.main = group is None or group.main  # the process that writes and shows progress
        self.batch = config.batch_size if group is None else group.local_batch(config.batch_size)
        forward = model if group is None else group.wrap(model, _skips_layers(model, stages))
        complex_data = any(t.is_complex() for t in problem.validation[:2])
        self.forward = (
            compile_model(forward, int(model.layers), device, complex_data)
            if config.compile
            else forward
        )
        # Reading a loss on the host waits for the device: on the CPU that costs nothing and
        # each step is checked; elsewhere losses add up on the device and are read (and
        # checked) at each evaluation and checkpoint, unless a callback wants each one.
        self.check_every_step = _reads_each_step(device, callback)
        # (step, stage index, [loss, gradient norm]) of the steps whose values are not read yet
        self.unread: list[tuple[int, int, list[Tensor]]] = []
        x_val, y_val, *rest = problem.validation
        n = config.validation_size or x_val.shape[0]
        self.A_val = move(rest[0], self.device) if rest else None
        if self.A_val is not None and n < x_val.shape[0]:
            raise ValueError(
                f"validation_size: the problem's validation set carries its own operator, which "
                f"cannot be cut; expected None or {x_val.shape[0]}, got {n}"
            )
        x_val, y_val = x_val[:n], y_val[:n]
        self.validation_count = n
        if group is not None and self.A_val is None:  # each process measures its share
            x_val, y_val = x_val[group.rank :: group.world], y_val[group.rank :: group.world]
        self.x_val, self.y_val = x_val.to(self.device), y_val.to(self.device)
        self.batch_checked = not config.check_finite  # the first training batch, once
        if config.check_finite:
            _check_data(self.x_val, self.y_val, "problem.validation", self.A_val)
        else:  # nor does the network check its first input
            for module in model.modules():
                if hasattr(module, "check_inputs"):
                    module.check_inputs = False
        # the problem's score (`unrolled.data.Problem.metric`); a problem of one's own that
        # names none is scored by NMSE in dB
        self.metric: Metric = getattr(problem, "metric", None) or nmse_db_metric()
        self.records: list[dict[str, Any]] = []
        self.best_weights: dict[str, Tensor] | None = None
        self.saved: dict[str, Tensor] = {}  # the resumed checkpoint's tensors
        self.pos = _Position()
        self.last_checkpoint: int | None = None
        target = run_dir if run_dir is not None else resume  # a resumed run goes on in place
        self.run_dir = Path(target) if target is not None else None
        self.description = {
            "fit": config.to_json(),
            "model": describe_model(model),
            "recipe": _recipe_text(model),
            "problem": repr(problem),
            "stages": [s.to_json() for s in stages],
            "versions": {"torch": torch.__version__},
        }
        run = self.run_dir
        if run is not None and (resume is None or run.resolve() != Path(resume).resolve()):
            if ckpt.holds_run(run):
                raise ValueError(
                    f"run_dir: {str(run)!r} already holds a run ({ckpt.STATE}); pass "
                    f"resume={str(run)!r} to continue it, or choose another directory"
                )
        self.resumed = resume is not None
        if resume is not None:
            self._load(resume)
        self._prepare_run_dir()

    # -- start and resume ----------------------------------------------------------------------

    def failed_start(self) -> bool:
        """A fresh run (not resumed) that has not taken its first step: nothing to keep."""
        return not self.resumed and self.pos.step == 0

    def _prepare_run_dir(self) -> None:
        if self.run_dir is None or not self.main:
            return
        run_dir = self.run_dir
        ckpt.require_safetensors()
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.remove_temporaries(run_dir)
        from .. import __version__

        self.description["versions"]["unrolled"] = __version__
        ckpt.write_json(run_dir / ckpt.CONFIG, self.description)

    def _rng_states(self) -> dict[str, Tensor]:
        """This process's random streams: torch's, the problem's generator's, CUDA's."""
        states = {"rng.torch": torch.get_rng_state()}
        generator = getattr(self.problem, "generator", None)
        if isinstance(generator, torch.Generator):
            states["rng.problem"] = generator.get_state()
        if self.device.type == "cuda":
            states["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return states

    def _load(self, resume: str) -> None:
        state, tensors = ckpt.load_state(resume)
        world = 1 if self.group is None else self.group.world
        if state.get("world_size", 1) != world:
            raise ValueError(
                f"resume: the run in {resume!r} trained on {state.get('world_size', 1)} "
                f"process(es), this one has {world}; resume it with torchrun --nproc-per-node "
                f"{state.get('world_size', 1)} (each process continues its own data stream)"
            )
        suffix = _rank_suffix(0 if self.group is None else self.group.rank)
        saved = ckpt.read_config(resume)
        problems = differences(saved["fit"], self.config.to_json())
        if saved["model"]["parameters"] != self.description["model"]["parameters"]:
            problems.append(
                f"model: the run trained parameters {saved['model']['parameters']}, got "
                f"{self.description['model']['parameters']}"
            )
        if problems:
            raise ValueError(
                "resume: expected the model and arguments of the run being resumed; "
                + "; ".join(problems)
            )
        where = str(Path(resume) / ckpt.STATE)
        self.pos = _Position.from_json(state.get("position"), where)
        optimizer = state.get("optimizer")
        if not (isinstance(optimizer, dict) and {"groups", "values"} <= set(optimizer)):
            raise ckpt.RunError(f"{where}: the state holds no optimiser record")
        if "rng.torch" + suffix not in tensors:
            raise ckpt.RunError(f"{where}: the state holds no random generator state")
        try:
            self.model.load_state_dict(ckpt.unprefixed("model.", tensors))
        except RuntimeError as e:
            raise ckpt.RunError(f"{where}: holds another model's tensors ({e})") from None
        self.records = ckpt.read_metrics(resume)[: self.pos.metrics]
        if len(self.records) != self.pos.metrics:
            raise ValueError(
                f"resume: {ckpt.METRICS} in {resume!r} holds {len(self.records)} records, the "
                f"checkpoint expects {self.pos.metrics}"
            )
        best = ckpt.unprefixed("best.", tensors)
        self.best_weights = best or None
        generator = getattr(self.problem, "generator", None)
        if "rng.problem" + suffix in tensors and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"problem: the run drew its batches from problem.generator, a "
                f"torch.Generator, got {type(generator).__name__}"
            )
        try:
            torch.set_rng_state(tensors["rng.torch" + suffix])
            if "rng.problem" + suffix in tensors:
                generator.set_state(tensors["rng.problem" + suffix])
            if "rng.cuda" + suffix in tensors and self.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda" + suffix], self.device)
        except (RuntimeError, TypeError) as e:
            raise ckpt.RunError(f"{where}: a random generator state is damaged ({e})") from None
        self.saved = tensors
        self.saved_optimizer = optimizer
        self.last_checkpoint = self.pos.step

    # -- the loop ------------------------------------------------------------------------------

    def train(self, progress: bool | None) -> nn.Module:
        if self.pos.finished:
            if self.run_dir is not None and self.main:
                ckpt.repair_weights(self.run_dir, self.model, self.pos.step)
            return self.model
        cfg = self.config
        self.bar = Progress(
            progress if self.main else False,
            cfg.max_steps,
            cfg.max_seconds,
            self.pos.step,
            self.pos.seconds,
        )
        # The first Adam of a process imports torch._dynamo (about a second): not on the clock.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        self.t0 = _clock()
        self.base_seconds = self.pos.seconds  # a resumed run's training time so far
        self.model.train()
        try:
            while self.pos.stage < len(self.stages):
                stage = self.stages[self.pos.stage]
                # A stage resumed from its checkpoint runs (and closes) even if the budget is
                # spent. Past the step budget nothing more runs; past the time budget the
                # refinements left are skipped, but a stage that adds a layer still trains it.
                if not self.pos.opened and self._spent():
                    if self._steps_spent():
                        break
                    if not stage.grows:
                        self.pos.stage += 1
                        continue
                self._run_stage(stage)
            self.pos.finished = True
            self._checkpoint(None)
        finally:
            self.bar.close()
        return self.model

    def _seconds(self) -> float:
        """Training time so far; under torchrun the slowest process's, so that every process
        takes the same decisions (each call is a collective: all processes make it)."""
        seconds = self.base_seconds + _clock() - self.t0
        return seconds if self.group is None else self.group.max(seconds)

    def _agreed(self, values: list[float]) -> list[float]:
        """Each value averaged over the processes (as is): every process sees the same."""
        if self.group is None:
            return values
        return [v / self.group.world for v in self.group.sum(values)]

    def _steps_spent(self) -> bool:
        cfg = self.config
        return cfg.max_steps is not None and self.pos.step >= cfg.max_steps

    def _spent(self) -> bool:
        """The global budget is spent."""
        cfg = self.config
        if self._steps_spent():
            return True
        return cfg.max_seconds is not None and self._seconds() >= cfg.max_seconds

    def _stage_over(self) -> bool:
        cfg, pos = self.config, self.pos
        if self._steps_spent():
            return True
        if pos.budget is not None and pos.stage_step >= pos.budget:
            return True
        if pos.stage_step == 0 and self.stages[pos.stage].grows:
            return False  # a new layer trains at least one step, whatever the clock says
        if cfg.max_seconds is not None and self._seconds() >= cfg.max_seconds:
            return True
        if pos.deadline is not None and self._seconds() >= pos.deadline:
            return True
        return cfg.patience is not None and pos.stage_step - pos.best_step >= cfg.patience

    def _open(self, stage: Stage) -> None:
        """Evaluate the stage's starting point, and share out the budgets left."""
        cfg, pos = self.config, self.pos
        left = len(self.stages) - pos.stage
        pos.stage_step, pos.best, pos.best_step, pos.evaluated_at = 0, None, 0, -1
        pos.loss_sum, pos.loss_count = 0.0, 0
        pos.seconds = pos.stage_start = self._seconds()
        pos.budget = None
        if cfg.max_steps is not None:
            steps_left = cfg.max_steps - pos.step
            pos.budget = max(1, steps_left // left) if steps_left > 0 else 0
        if cfg.stage_steps is not None:
            pos.budget = cfg.stage_steps if pos.budget is None else min(pos.budget, cfg.stage_steps)
        pos.deadline = None
        self.best_weights = None
        if cfg.warm_start and stage.grows and stage.depth > 1:
            copy_layer = getattr(self.model, "copy_layer", None)
            if callable(copy_layer):
                copy_layer(stage.depth - 2, stage.depth - 1)
        self._evaluate(stage)
        pos.opened = True
        if cfg.max_seconds is not None:
            # Shared after the opening evaluation, net of the evaluations still to come (each
            # stage opens and closes with one, at a cost that grows with its depth), so that
            # the stages left fit the budget however costly evaluating is.
            first, rest = stage.depth + 1, self.weights_after[pos.stage]
            now = self._seconds()
            evaluations = pos.eval_cost * (first + 2 * rest)
            share = max(0.0, cfg.max_seconds - now - evaluations) * first / (first + rest)
            pos.deadline = now + share

    def _run_stage(self, stage: Stage) -> None:
        cfg, pos = self.config, self.pos
        rates = LayerRates(self.model, stage.layer_factors, stage.shared_factor, cfg.lr_factors)
        optimizer = torch.optim.Adam(rates.groups, lr=cfg.lr * stage.lr_factor)
        if pos.opened:  # resuming inside this stage
            ckpt.load_optimizer(optimizer, self.saved, self.saved_optimizer)
            self.saved = {}
        else:
            self._open(stage)
            self._checkpoint(optimizer)
        while not self._stage_over():
            self._step(stage, rates, optimizer)
        if pos.evaluated_at != pos.stage_step:
            self._evaluate(stage)
        if cfg.restore_best and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        pos.stage += 1
        pos.opened = False

    def _lr(self, stage: Stage) -> float:
        cfg, pos = self.config, self.pos
        lr = cfg.lr * stage.lr_factor
        if cfg.lr_schedule == "cosine":
            u = 0.0
            if pos.budget:
                u = pos.stage_step / pos.budget
            if pos.deadline is not None and pos.deadline > pos.stage_start:
                u = max(u, (self._seconds() - pos.stage_start) / (pos.deadline - pos.stage_start))
            lr *= 0.5 * (1 + math.cos(math.pi * min(u, 1.0)))
        return lr

    def _where(self, stage: Stage) -> str:
        return f"stage {self.pos.stage + 1}/{len(self.stages)}: {stage.label}"

    def _stop_unless_finite(
        self, what: str, value: float, step: int, stage: Stage, read_at: int | None = None
    ) -> None:
        """A NaN/Inf stops training, naming the step and stage: before the parameters move
        when each step is checked, else (``read_at``) when the value is read."""
        if math.isfinite(value):
            return
        if read_at is None:
            when = "training stopped before updating the parameters"
        else:
            when = (
                f"read at step {read_at} (on {self.device.type}, losses are read at evaluations "
                f"and checkpoints, not every step); training stopped, the parameters have moved "
                f"since step {step}"
            )
        raise FloatingPointError(
            f"{what} is {value} at step {step} ({self._where(stage)}); {when}; {self._intact()}"
        )

    def _read_losses(self) -> None:
        """Read the losses (and gradient norms) that stayed on the device, in one transfer;
        stop at the first that is not finite."""
        if not self.unread:
            return
        unread, self.unread = self.unread, []
        stacked = torch.stack([torch.stack(v).float() for *_, v in unread])
        flat = self._agreed(stacked.flatten().cpu().tolist())
        width = stacked.shape[1]
        values = [flat[i : i + width] for i in range(0, len(flat), width)]
        for (step, stage, _), (loss, *norm) in zip(unread, values, strict=True):
            self._stop_unless_finite("loss", loss, step, self.stages[stage], self.pos.step)
            if norm:
                self._stop_unless_finite(
                    "gradient norm", norm[0], step, self.stages[stage], self.pos.step
                )
            self.pos.loss_sum += loss
            self.pos.loss_count += 1

    def _intact(self) -> str:
        if self.run_dir is None:
            return "no run_dir, so no checkpoint was written"
        if self.last_checkpoint is None:
            return "no checkpoint was written yet"
        return (
            f"the last checkpoint in {str(self.run_dir)!r} (step {self.last_checkpoint}) is intact"
        )

    def _step(self, stage: Stage, rates: LayerRates, optimizer: torch.optim.Optimizer) -> None:
        cfg, pos, model = self.config, self.pos, self.model
        step = pos.step + 1
        x, y, *rest = self.problem.sample(self.batch)
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        A = move(rest[0], self.device, non_blocking=True) if rest else None
        if not self.batch_checked:
            _check_data(x, y, f"problem.sample (the batch of step {step})", A)
            self.batch_checked = True
        lr = self._lr(stage)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_factor"]
        model.zero_grad(set_to_none=True)
        with self.precision.autocast():
            loss = supervised_loss(
                model, x, y, stage.depth, stage.loss_weights, cfg.loss, A, self.forward
            )
        value = None
        if self.check_every_step:
            (value,) = self._agreed([float(loss.detach())])
            self._stop_unless_finite("loss", value, step, stage)
        scaler = self.precision.scaler
        (loss if scaler is None else scaler.scale(loss)).backward()
        rates.mask_gradients()
        if scaler is not None:
            scaler.unscale_(optimizer)
        norm = None
        if cfg.clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(rates.parameters, cfg.clip)
            if self.check_every_step:
                (size,) = self._agreed([float(norm)])
                self._stop_unless_finite("gradient norm", size, step, stage)
        rates.before_step()
        if scaler is None:
            optimizer.step()
        else:  # skips the step when fp16 overflowed, and adapts the scale
            scaler.step(optimizer)
            scaler.update()
        rates.after_step()
        pos.step, pos.stage_step = step, pos.stage_step + 1
        if value is not None:
            pos.loss_sum += value
            pos.loss_count += 1
        else:
            kept = [loss.detach()] + ([] if norm is None else [norm.detach()])
            self.unread.append((step, pos.stage, kept))
        if pos.stage_step % cfg.eval_every == 0:
            self._evaluate(stage)
        if cfg.checkpoint_every is not None and step % cfg.checkpoint_every == 0:
            self._checkpoint(optimizer)
        seconds = self._seconds()
        self.bar.update(step, seconds)
        if self.callback is not None:
            self.callback(
                {
                    "step": step,
                    "stage": pos.stage + 1,
                    "stages": len(self.stages),
                    "label": stage.label,
                    "layer": stage.depth,
                    "stage_step": pos.stage_step,
                    "loss": value,
                    "lr": lr,
                    "seconds": seconds,
                    "metric": self.metric.key,
                    "val": pos.last_val,
                }
            )

    def _evaluate(self, stage: Stage) -> None:
        cfg, pos = self.config, self.pos
        self._read_losses()
        start = self._seconds()
        metric = self.metric
        totals = validation_totals(
            self.model,
            self.x_val,
            self.y_val,
            stage.depth,
            metric,
            A=self.A_val,
            count_nonfinite=True,
        )
        if self.group is not None and self.A_val is None:
            totals = torch.tensor(self.group.sum(totals.tolist()), dtype=torch.float64)
        totals, nonfinite = totals[:-1], int(totals[-1])
        val = metric.value(totals)
        if nonfinite or math.isnan(val):
            what = f"NaN or Inf on {nonfinite} of" if nonfinite else f"a NaN {metric.label} over"
            raise FloatingPointError(
                f"validation at step {pos.step} ({self._where(stage)}): the network's output is "
                f"{what} {self.validation_count} validation samples; training stopped, as no score can rank "
                f"it; {self._intact()}"
            )
        pos.eval_cost = (self._seconds() - start) / (stage.depth + 1)
        margin = metric.min_delta if cfg.min_delta is None else cfg.min_delta
        if metric.improves(val, pos.best, margin):
            pos.best, pos.best_step = val, pos.stage_step
            if cfg.restore_best:
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.model.state_dict().items()
                }
        pos.evaluated_at, pos.last_val = pos.stage_step, val
        seconds = self._seconds()
        train_loss = pos.loss_sum / pos.loss_count if pos.loss_count else None
        self.records.append(
            {
                "step": pos.step,
                "stage": pos.stage + 1,
                "stages": len(self.stages),
                "label": stage.label,
                "layer": stage.depth,
                "stage_step": pos.stage_step,
                "lr": self._lr(stage),
                "train_loss": train_loss,
                f"val_{metric.key}": val,
                f"best_val_{metric.key}": pos.best,
                "seconds": seconds,
            }
        )
        pos.loss_sum, pos.loss_count = 0.0, 0
        if self.run_dir is not None and self.main:
            # At every evaluation, not only at checkpoints, so that a run without a terminal
            # (no bar) shows its progress; resuming drops the lines after its checkpoint.
            ckpt.write_jsonl(self.run_dir / ckpt.METRICS, self.records)
        self.bar.update(
            pos.step,
            seconds,
            loss=train_loss,
            **{f"val_{metric.key}": metric.format(val)},
            stage=f"{pos.stage + 1}/{len(self.stages)} {stage.label}",
        )

    # -- checkpoints ---------------------------------------------------------------------------

    def _checkpoint(self, optimizer: torch.optim.Optimizer | None) -> None:
        """Write metrics, state and weights (in that order), each file atomically."""
        self._read_losses()
        if self.run_dir is None:
            return
        pos = self.pos
        pos.metrics = len(self.records)
        pos.seconds = self._seconds()
        everyones = [self._rng_states()]  # every process's random streams, by rank
        world = 1
        if self.group is not None:
            everyones, world = self.group.gather(everyones[0]), self.group.world
            if not self.main:
                self.last_checkpoint = pos.step
                return
        tensors = ckpt.prefixed("model.", self.model.state_dict())
        optimizer_meta: dict[str, Any] = {"groups": [], "values": {}}
        if optimizer is not None:
            opt_tensors, optimizer_meta = ckpt.optimizer_tensors(optimizer)
            tensors.update(opt_tensors)
        if self.best_weights is not None:
            tensors.update(ckpt.prefixed("best.", self.best_weights))
        for r, states in enumerate(everyones):
            tensors.update({f"{k}{_rank_suffix(r)}": v for k, v in states.items()})
        ckpt.write_jsonl(self.run_dir / ckpt.METRICS, self.records)
        meta = {"position": asdict(pos), "optimizer": optimizer_meta, "world_size": world}
        ckpt.save_checkpoint(self.run_dir, meta, tensors, self.model, pos.step)
        self.last_checkpoint = pos.step


def _check_operators(model: nn.Module, problem: Any) -> None:
    """The operator the model was built on has the problem's shapes (a model built for
    another problem would fail deep in its first layer with a bare shape error)."""
    mine, theirs = getattr(model, "operator", None), getattr(problem, "operator", None)
    if mine is None or theirs is None:
        return
    shapes = [
        (tuple(getattr(op, "in_shape", None) or ()), tuple(getattr(op, "out_shape", None) or ()))
        for op in (mine, theirs)
    ]
    if all(all(shape) for shape in shapes) and shapes[0] != shapes[1]:
        (a_in, a_out), (b_in, b_out) = shapes
        raise ValueError(
            f"model: built on an operator from {a_in} to {a_out}, but the problem's operator "
            f"maps {b_in} to {b_out}; build the model on problem.operator"
        )


def check_batch_memory(batch: int, layers: int, problem: Any, device: torch.device) -> None:
    """Refuse a batch that cannot fit before anything is allocated: ``batch`` samples of the
    validation set's ``x`` and ``y`` sizes, with the K estimates a backward pass keeps, against
    the device's memory (a lower bound of what a step needs: the networks keep more)."""
    x, y = problem.validation[:2]
    per_sample = x[:1].nelement() * x.element_size() * (layers + 1)
    per_sample += y[:1].nelement() * y.element_size()
    need = batch * per_sample
    total = device_memory(device)
    if total is not None and need > total:
        gib = 2**30
        raise ValueError(
            f"batch_size: {batch} samples need at least {need / gib:.3g} GiB ({per_sample} "
            f"bytes each: x, y and the {layers} layers' estimates kept for the backward "
            f"pass), more than the {total / gib:.3g} GiB of {device}; take a smaller batch"
        )


def _check_data(x: Tensor, y: Tensor, where: str, A: Any = None) -> None:
    """No NaN or Inf in ``y``, no Inf in ``x`` (whose NaN entries mark unobserved ones), none
    in a per-sample matrix operator ``A`` (e.g. MIMO channels)."""
    try:
        check_finite(y, "y")
        check_finite(x, "x", allow_nan=True)
        matrix = getattr(A, "M", None)
        if isinstance(matrix, Tensor) and matrix.ndim == 3:
            check_finite(matrix, "A")
    except ValueError as e:
        raise ValueError(f"{where}: {e}; pass check_finite=False to skip this check") from None


def _reads_each_step(device: torch.device, callback: Any) -> bool:
    """Whether each step's loss is read on the host as it comes: on the CPU (free), or for a
    callback that wants it; on a GPU it would stall the device every step."""
    return device.type == "cpu" or callback is not None


def _skips_layers(model: nn.Module, stages: list[Stage]) -> bool:
    """Some stage trains fewer than K layers while the model has per-layer modules (whose
    parameters then take no part in a step)."""
    shallow = any(s.depth < model.layers for s in stages)
    return shallow and any(
        layer is not None and not sliced for *_, layer, sliced in layer_owners(model)
    )


def _rank_suffix(rank: int) -> str:
    """The checkpoint's key suffix of a process's random streams (rank 0's have none)."""
    return "" if rank == 0 else f".rank{rank}"


def _recipe_text(model: nn.Module) -> str | None:
    recipe = getattr(model, "recipe", None)
    return None if recipe is None else recipe.summary()


__all__ = ["fit"]
