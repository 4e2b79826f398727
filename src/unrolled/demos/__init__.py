"""Demos: what unrolling buys, one task each, in a few minutes on a CPU (``unrolled demo``).

- ``sparse`` (`run_sparse_demo`): ALISTA against ISTA and FISTA on the LISTA benchmark.
- ``mri`` (`run_imaging_demo`): MoDL with its shipped weights (`unrolled.pretrained`) on
  held-out MNI152 brain slices, 8-coil 4× MRI, against zero-filling, CG-SENSE and TV-PDHG tuned
  on validation slices, with a figure; optionally fine-tuned first.
- ``ct`` (`run_imaging_demo`): learned primal-dual with its shipped weights on 30-angle low-dose
  CT of Shepp-Logan and held-out ellipse phantoms, against filtered back-projection and TV-FISTA,
  with a figure; optionally fine-tuned first.
- ``pet`` (`run_imaging_demo`): em-net with its shipped weights on held-out emission-tomography
  phantoms (60 angles, 1e5 counts) against FBP, MLEM and OSEM at their tuned stops and MAP-EM,
  by NRMSE, with a figure; optionally fine-tuned first.
- ``deblur`` (`run_imaging_demo`): a USRNet-style HQS trained on motion blur against the tuned
  Wiener filter, with a before/after figure.
- ``mimo`` (`run_mimo_demo`): OAMP-Net2 against MMSE, OAMP and exact ML detection.
- ``recsys`` (`run_recsys_demo`): unrolled soft-impute and ALS on MovieLens-100K against their
  classical algorithms and the usual baselines.

Each trains networks (`unrolled.train.fit`); `unrolled.analysis` scores and draws what they
produce.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

TASKS = ("sparse", "mri", "ct", "pet", "deblur", "mimo", "recsys")
#: Seconds of training when none are given: the tasks with shipped weights train none.
DEFAULT_SECONDS = {"mri": 0.0, "ct": 0.0, "pet": 0.0}


def _runner(task: str) -> Callable[..., Any]:
    """The task's demo function, imported on demand (each pulls in its own domain)."""
    if task == "sparse":
        from .sparse import run_sparse_demo

        return run_sparse_demo
    if task in ("mri", "ct", "pet", "deblur"):
        from .imaging import run_imaging_demo

        return lambda *args, **kwargs: run_imaging_demo(task, *args, **kwargs)
    if task == "mimo":
        from .mimo import run_mimo_demo

        return run_mimo_demo
    if task == "recsys":
        from .recsys import run_recsys_demo

        return run_recsys_demo
    raise ValueError(f"task: expected one of {TASKS}, got {task!r}")


def run_demo(
    task: str,
    seconds: float | None,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    train: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Run the demo of ``task`` (one of `TASKS`): training for about ``seconds`` (None: 150, or
    none for a task with shipped weights, where it is optional fine-tuning), results in
    ``run_dir``; ``train`` adds `fit` settings (device, precision); ``options`` are the task's
    own (the sparse demo's depth, batch, rate and problem size)."""
    runner = _runner(task)
    if seconds is None:
        seconds = DEFAULT_SECONDS.get(task, 150.0)
    return runner(seconds, run_dir, seed=seed, train=train, **options)


__all__ = ["DEFAULT_SECONDS", "TASKS", "run_demo"]
