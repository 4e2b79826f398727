"""``unrolled demo --task mri|deblur``: a short end-to-end training of an unrolled imaging network,
then a before/after figure on a held-out image (ground truth, measurement, classical, learned)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..algorithms import PDHG
from ..core import create
from ..data import Deblurring, MRIReconstruction, add_noise
from ..data.images import center_crop, load_image
from ..data.phantoms import smooth_phase
from ..metrics import psnr
from ..ops import MRI, Blur, masks, random_motion_kernel
from ..train import fit

#: Weights tried for the classical method, tuned on a training image (never the test image).
GRID = tuple(10 ** (k / 2) for k in range(-8, -1))


@dataclass(frozen=True)
class ImagingDemo:
    """What the demo measured: PSNR (dB) of each panel, the classical method's tuned weight."""

    task: str
    psnr: dict[str, float]
    weight: float
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


def _mri(seed: int, size: int) -> _Task:
    return _Task(
        MRIReconstruction(size=size, acceleration=4, coils=1, seed=seed, validation_size=16),
        "modl",
        {"layers": 5, "width": 32, "batch_norm": False},
        "zero-filled",
        "TV (PDHG, 200 it.)",
        lambda y, A, w: PDHG(threshold=w).run(y, A, iterations=200),
        lambda y, A: A.H(y),
        lambda n, g: MRI(masks.random_lines((n, n), 4, 0.08, generator=g)),
        0.002,
    )


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


TASKS = {"mri": _mri, "deblur": _deblur}


def _image(name: str, size: int, complex_: bool, g: torch.Generator) -> Tensor:
    x = center_crop(load_image(name), size)[None]  # (1, 1, n, n)
    if not complex_:
        return x
    return x[:, 0].to(torch.complex64) * smooth_phase((size, size), generator=g)


def _psnr(x_hat: Tensor, x: Tensor) -> float:
    return float(psnr(x_hat.abs(), x.abs(), 1.0)) if x.is_complex() else float(psnr(x_hat, x, 1.0))


def run_imaging_demo(
    task: str,
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    patch: int = 64,
    test_size: int = 128,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> ImagingDemo:
    """Train the task's network for ``seconds``, then draw the before/after figure.

    The test image (``camera``, held out of training) is measured with an operator drawn from
    the training distribution; the classical method's weight is tuned on a training image
    (``ascent``) measured the same way. ``train``: more `fit` settings (``device``,
    ``precision``, ``compile``); the figure is made on the CPU.
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {sorted(TASKS)}, got {task!r}")
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
    is_complex = task == "mri"
    A = spec.operator(test_size, g)
    measured = {}
    for name in ("ascent", "camera"):
        x = _image(name, test_size, is_complex, g)
        y = add_noise(A(x), spec.noise, g)
        measured[name] = (x, y * A.weights if task == "mri" else y)
    x_tr, y_tr = measured["ascent"]
    with torch.no_grad():
        weight = max(GRID, key=lambda w: _psnr(spec.classical_fn(y_tr, A, w), x_tr))
        x, y = measured["camera"]
        net.eval()
        panels = {
            "ground truth": x,
            spec.measurement: spec.naive_fn(y, A),
            spec.classical: spec.classical_fn(y, A, weight),
            f"{spec.model} ({net.layers} layers)": net(y, A),
        }
    scores = {k: _psnr(v, x) for k, v in list(panels.items())[1:]}
    figure = _figure(panels, scores, run_dir / f"{task}.png")
    for name, value in scores.items():
        log(f"  {name:>24}: {value:6.2f} dB")
    log(f"Wrote {figure}")
    return ImagingDemo(task, scores, weight, figure)


def _figure(panels: dict[str, Tensor], scores: dict[str, float], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.9), dpi=110)
    for ax, (name, image) in zip(axes, panels.items(), strict=True):
        shown = image.detach()[0].abs() if image.is_complex() else image.detach()[0, 0]
        ax.imshow(shown.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        title = name if name not in scores else f"{name}\n{scores[name]:.2f} dB"
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
