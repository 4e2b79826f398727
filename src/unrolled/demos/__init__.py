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
from pathlib import Path
from typing import Any

TASKS = ("sparse", "mri", "ct", "pet", "deblur", "mimo", "recsys")
#: Seconds of training when none are given: the tasks with shipped weights train none.
DEFAULT_SECONDS = {"mri": 0.0, "ct": 0.0, "pet": 0.0}
#: Where each task's demo goes unless told: a directory of its own.
DEFAULT_DIR = "runs/demo/{task}"
#: The file that marks a directory as a demo's, which a later demo may replace.
DEMO_MARK = ".unrolled-demo"


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
    _fresh(Path(run_dir))
    return runner(seconds, run_dir, seed=seed, train=train, **options)


def _fresh(run_dir: Path) -> None:
    """Make ``run_dir`` ready for a demo: a demo's earlier run there is replaced (a demo is not
    a training run to protect), with a line that says so; a training run that is not a
    demo's is left alone, with an error."""
    from ..train.checkpoint import RUN_FILES

    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--run-dir: expected a directory, got the file {str(run_dir)!r}")
    held = [name for name in RUN_FILES if (run_dir / name).exists()]
    if held and not (run_dir / DEMO_MARK).is_file():
        raise ValueError(
            f"--run-dir: {str(run_dir)!r} holds a training run that is not a demo's; choose "
            f"another --run-dir (a demo replaces only an earlier demo's run)"
        )
    if held:
        print(f"Replacing the previous demo run in {run_dir}", flush=True)
        for name in held:
            (run_dir / name).unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / DEMO_MARK).touch()


__all__ = ["DEFAULT_DIR", "DEFAULT_SECONDS", "TASKS", "run_demo"]
