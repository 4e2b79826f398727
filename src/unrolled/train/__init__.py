"""Training: `fit` (schedules, early stopping, checkpoints, exact resume, devices, precision,
compiled steps, data parallelism).

- `fit(model, problem, schedule, max_seconds, run_dir=None, resume=None, **settings)` trains an
  unrolled network; `FitConfig` lists every setting with its default; see `unrolled.train.schedules` for the schedules,
  `unrolled.train.losses` for the losses and `unrolled.train.checkpoint` for the run directory.
- ``device=``, ``precision=``, ``compile=``: where and how (`unrolled.train.device`); under
  torchrun, `fit` trains with DistributedDataParallel by itself (`unrolled.train.distributed`).
- `load_weights(model, run_dir)`, `read_metrics(run_dir)`, `read_config(run_dir)` read a run.
"""

from .checkpoint import load_weights, read_config, read_metrics
from .config import FitConfig
from .device import PRECISIONS, Precision, resolve_device
from .distributed import Distributed
from .fit import fit
from .losses import LOSSES
from .schedules import SCHEDULES, Stage, build_stages

__all__ = [
    "LOSSES",
    "PRECISIONS",
    "SCHEDULES",
    "Distributed",
    "FitConfig",
    "Precision",
    "Stage",
    "build_stages",
    "fit",
    "load_weights",
    "read_config",
    "read_metrics",
    "resolve_device",
]
