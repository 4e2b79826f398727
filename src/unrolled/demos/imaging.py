"""``unrolled demo --task mri|ct|pet|deblur``: an unrolled imaging network (shipped weights, or a
short end-to-end training) beside the classical methods of its task on held-out images, with a
before/after figure (ground truth, classical, learned)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..core import create
from ..data import Deblurring, add_noise
from ..data.images import center_crop, load_image
from ..data.problem import final_baselines
from ..metrics import psnr
from ..ops import Blur, random_motion_kernel
from ..train import fit

#: Weights tried for the classical method, tuned on a training image (never the test image).
GRID = tuple(10 ** (k / 2) for k in range(-8, -1))


@dataclass(frozen=True)
class ImagingDemo:
    """What the demo measured: PSNR (dB) of each method, the classical method's tuned weight
    (None for the tasks with shipped weights, whose problem tunes several)."""

    task: str
    psnr: dict[str, float]
    weight: float | None
    figure: Path


@dataclass(frozen=True)
class _Task:
    problem: Any
    model: str
    model_kwargs: dict[str, Any]
    measurement: str  # the panel name of the naive reconstruction
    classical: str
    # (x, y, A, weight) -> x̂: the classical method at a weight
    classical_fn: Callable[[Tensor, Any, float], Tensor]
    naive_fn: Callable[[Tensor, Any], Tensor]
    operator: Callable[[int, torch.Generator], Any]  # (size, generator) -> a test operator
    noise: float


def _deblur(seed: int, size: int) -> _Task:
    return _Task(
        Deblurring(
            size=size,
            kernel="motion",
            kernel_size=15,
            noise=(0.0, 0.03),
            seed=seed,
            validation_size=16,
        ),
        "usrnet",
        {"layers": 4, "width": 16, "pools": 2},
        "blurred",
        "Wiener",
        lambda y, A, w: A.solve_gram(A.H(y), w),
        lambda y, A: y,
        lambda n, g: Blur(random_motion_kernel(15, g), (1, n, n)),
        2.55 / 255,
    )


TASKS = {"deblur": _deblur}


@dataclass(frozen=True)
class _Shipped:
    """A task shown with weights shipped in the package (`unrolled.pretrained`), measured on
    the held-out test set of the problem they were trained on."""

    model: str
    weights: str
    samples: str  # what the test samples are called
    shown: Callable[[int], list[int]]  # test-set size -> the samples in the figure


PRETRAINED = {
    "mri": _Shipped("modl", "mri-8coil-4x", "held-out test slices", lambda n: [n // 2]),
    "ct": _Shipped(
        "learned-primal-dual", "ct-30-angles", "test phantoms (Shepp-Logan first)", lambda n: [0, 1]
    ),
    "pet": _Shipped("em-net", "pet-60-angles", "held-out test phantoms", lambda n: [0, 1]),
}


def _psnr(x_hat: Tensor, x: Tensor) -> float:
    return float(psnr(x_hat.abs(), x.abs(), 1.0)) if x.is_complex() else float(psnr(x_hat, x, 1.0))


def run_imaging_demo(
    task: str,
    seconds: float | None,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    patch: int = 64,
    test_size: int = 128,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> ImagingDemo:
    """The imaging demo of ``task``: a learned network beside the tuned classical methods on
    held-out data, with a before/after figure (``run_dir/<task>.png``).

    ``mri``, ``ct`` and ``pet`` (`PRETRAINED`): the network comes with the package, trained on
    the task's problem (MoDL on 8-coil 4x MRI of MNI152 brain slices; learned primal-dual on
    30-angle low-dose CT of ellipse phantoms; em-net on emission tomography of ellipse phantoms,
    60 angles, 1e5 counts); the held-out test set is reconstructed by it and by the problem's
    baselines (zero-filling, CG-SENSE and TV-PDHG; filtered back-projection and TV-FISTA; FBP,
    MLEM, OSEM and MAP-EM; weights and stopping points tuned on validation samples), scored by
    the problem's metric (PSNR; NRMSE for ``pet``), and ``seconds`` > 0 fine-tunes it first
    (optional; default none).

    ``deblur``: the network trains for ``seconds`` (default 150); the test image (``camera``,
    held out of training) is measured with an operator drawn from the training distribution;
    the classical method's weight is tuned on a training image (``ascent``) measured the same
    way.

    ``train``: more `fit` settings (``device``, ``precision``, ``compile``); the figure is made
    on the CPU.
    """
    if task in PRETRAINED:
        return _pretrained_demo(task, seconds or 0.0, Path(run_dir), log, train or {})
    seconds = 150.0 if seconds is None else seconds
    if task not in TASKS:
        raise ValueError(f"task: expected one of {sorted([*TASKS, *PRETRAINED])}, got {task!r}")
    spec = TASKS[task](seed, patch)
    run_dir = Path(run_dir)
    net = create(spec.model, operator=spec.problem.operator, **spec.model_kwargs)
    log(f"{spec.problem!r}: training {spec.model} for {seconds:g} s -> {run_dir}")
    t0 = time.perf_counter()
    fit(
        net,
        spec.problem,
        schedule="end-to-end",
        loss="nmse",
        max_seconds=seconds,
        batch_size=8,
        lr=1e-3,
        run_dir=run_dir,
        patience=None,
        **(train or {}),
    )
    net.cpu()
    log(f"trained in {time.perf_counter() - t0:.0f} s")
    g = torch.Generator().manual_seed(seed + 1)
    A = spec.operator(test_size, g)
    measured = {}
    for name in ("ascent", "camera"):
        x = center_crop(load_image(name), test_size)[None]
        measured[name] = (x, add_noise(A(x), spec.noise, g))
    x_tr, y_tr = measured["ascent"]
    with torch.no_grad():
        weight = max(GRID, key=lambda w: _psnr(spec.classical_fn(y_tr, A, w), x_tr))
        x, y = measured["camera"]
        net.eval()
        panels = {
            spec.measurement: spec.naive_fn(y, A),
            spec.classical: spec.classical_fn(y, A, weight),
            f"{spec.model} ({net.layers} layers)": net(y, A),
        }
    scores = {k: _psnr(v, x) for k, v in panels.items()}
    figure = _figure(panels, x, run_dir / f"{task}.png")
    for name, value in scores.items():
        log(f"  {name:>24}: {value:6.2f} dB")
    log(f"Wrote {figure}")
    return ImagingDemo(task, scores, weight, figure)


def _pretrained_demo(
    task: str, seconds: float, run_dir: Path, log: Callable[[str], None], train: Mapping[str, Any]
) -> ImagingDemo:
    from .. import pretrained

    spec = PRETRAINED[task]
    entry = pretrained.info(spec.model, spec.weights)
    problem = entry.build_problem(validation_size=4)  # four samples tune the baselines
    net = pretrained.load(spec.model, spec.weights, operator=problem.operator)
    trained = entry.trained
    log(
        f"{spec.model} with its shipped weights {spec.weights!r} (trained {trained['steps']} "
        f"steps, {trained['seconds'] / 60:.0f} min on {trained['device']}): {problem.describe()}"
    )
    if seconds > 0:
        log(f"fine-tuning for {seconds:g} s -> {run_dir}")
        fit(net, problem, max_seconds=seconds, run_dir=run_dir, patience=None, **train)
        net.cpu().eval()
    x, y, *A = problem.test
    metric = problem.metric
    t0 = time.perf_counter()
    with torch.no_grad():
        estimates = final_baselines(problem)
        classical_seconds = time.perf_counter() - t0
        estimates[f"{spec.model} ({net.layers} layers)"] = net(y, *A)
    scores = {k: metric(v, x) for k, v in estimates.items()}
    log(
        f"Mean {metric.label} over the {len(x)} {spec.samples} (classical methods "
        f"{classical_seconds:.0f} s, their weights tuned on validation samples):"
    )
    for label, value in scores.items():
        log(f"  {label:>30}: {metric.format(value)} {metric.unit}")
    rows = spec.shown(len(x))
    panels = {k: v[rows] for k, v in estimates.items()}
    figure = _figure(panels, x[rows], run_dir / f"{task}.png", metric)
    log(f"Wrote {figure} (test samples {', '.join(map(str, rows))})")
    return ImagingDemo(task, scores, None, figure)


def _figure(panels: dict[str, Tensor], x: Tensor, path: Path, metric: Any = None) -> Path:
    """One row per sample of ``x`` ``(R, ...)``: the truth, then each panel ``(R, ...)`` with
    its score against it in the title (``metric``, an `unrolled.metrics.Metric`; PSNR with
    data range 1 when None)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = {"ground truth": x, **panels}
    rows = x.shape[0]
    fig, axes = plt.subplots(
        rows, len(columns), figsize=(3.2 * len(columns), 3.9 * rows), dpi=110, squeeze=False
    )
    for r in range(rows):
        for ax, (name, images) in zip(axes[r], columns.items(), strict=True):
            image = images[r : r + 1].detach()
            shown = image[0].abs() if image.is_complex() else image[0, 0]
            ax.imshow(shown.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            truth = x[r : r + 1]
            score = (
                f"{_psnr(image, truth):.2f} dB"
                if metric is None
                else f"{metric.format(metric(image, truth))} {metric.unit}"
            )
            title = name if name == "ground truth" else f"{name}\n{score}"
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


__all__ = ["ImagingDemo", "run_imaging_demo"]
