"""Demos: what unrolling buys, one task each, in a few minutes on a CPU (``unrolled demo``).

- ``sparse`` (`run_sparse_demo`): ALISTA against ISTA and FISTA on the LISTA benchmark.
- ``mri``, ``deblur`` (`run_imaging_demo`): MoDL on 4× MRI, a USRNet-style HQS on motion blur,
  against the tuned classical method, with a before/after figure.
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

TASKS = ("sparse", "mri", "deblur", "mimo", "recsys")


def _runner(task: str) -> Callable[..., Any]:
    """The task's demo function, imported on demand (each pulls in its own domain)."""
    if task == "sparse":
        from .sparse import run_sparse_demo

        return run_sparse_demo
    if task in ("mri", "deblur"):
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
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    train: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Run the demo of ``task`` (one of `TASKS`): training for about ``seconds``, results in
    ``run_dir``; ``train`` adds `fit` settings (device, precision); ``options`` are the task's
    own (the sparse demo's depth, batch, rate and problem size)."""
    return _runner(task)(seconds, run_dir, seed=seed, train=train, **options)


__all__ = ["TASKS", "run_demo"]
