"""Data-parallel training over the processes `torchrun` launches: `Distributed`.

`fit` notices torchrun by itself (``WORLD_SIZE`` > 1 in the environment) and then:

- joins the process group (NCCL on CUDA, Gloo on the CPU) unless the caller has already, and
  stays in it (a later `fit` in the same processes uses it again);
- wraps the model in `torch.nn.parallel.DistributedDataParallel`, whose gradient all-reduce
  overlaps the backward pass;
- splits each step's ``batch_size`` samples over the processes (``batch_size / WORLD_SIZE``
  each, so that a recipe's batch and learning rate mean the same on any number of GPUs), each
  process drawing from its own stream: the problem's generator reseeded ``initial_seed + rank``
  (rank 0 keeps the one-process stream);
- averages the validation NMSE over the processes, each measuring its share of the set;
- agrees on every decision (time budgets, early stopping, a NaN loss) through small all-reduces
  on a Gloo group, so that no process waits for a collective the others skipped;
- lets rank 0 alone write the run directory; the checkpoint holds every rank's random streams,
  so that ``resume`` continues a multi-process run exactly (on the same number of processes).

Launch it with ``torchrun --nproc-per-node N -m unrolled train CONFIG.yaml`` (one node), or
add ``--nnodes M --node-rank R --rdzv-backend c10d --rdzv-endpoint HOST:PORT`` on every node.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import weakref
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


def launched() -> bool:
    """Whether this process is one of several that torchrun launched (``WORLD_SIZE`` > 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def rank() -> int:
    """This process's rank under torchrun (0 when not launched by it)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


class Distributed:
    """This process's place among the ``world`` processes of a data-parallel run."""

    def __init__(self, device: torch.device) -> None:
        if not dist.is_available():
            raise RuntimeError("torchrun: this PyTorch build has no torch.distributed")
        if not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
            # Left alive for later fits, torn down before the interpreter exits: a Gloo group
            # destroyed with its threads still running aborts the process at exit.
            atexit.register(_leave)
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        self.device = device
        self.control = _control_group()

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes the run directory and shows progress."""
        return self.rank == 0

    def wrap(self, model: nn.Module, unused: bool) -> nn.Module:
        """``model`` in `DistributedDataParallel`; ``unused``: some parameters may take no
        part in a step (a schedule training the first k of K layers, with per-layer modules
        past k), which costs DDP an extra pass over the graph, so only then."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(
            model, device_ids=ids, find_unused_parameters=unused
        )

    def local_batch(self, batch_size: int) -> int:
        """This process's share of a step's ``batch_size`` samples."""
        if batch_size % self.world:
            raise ValueError(
                f"batch_size: expected a multiple of the {self.world} processes torchrun "
                f"launched (each draws batch_size / {self.world} samples per step), got "
                f"{batch_size}"
            )
        return batch_size // self.world

    def seed_stream(self, problem: Any) -> None:
        """Give this rank its own training stream: the problem's generator (or, without one,
        torch's) reseeded ``initial_seed + rank``, once (a second `fit` on the same problem
        goes on with it); rank 0 keeps its stream."""
        if self.rank == 0:
            return
        generator = getattr(problem, "generator", None)
        if not isinstance(generator, torch.Generator):
            generator = torch.default_generator
        if generator in _SEEDED:
            return
        _SEEDED.add(generator)
        generator.manual_seed(generator.initial_seed() + self.rank)

    def sum(self, values: list[float]) -> list[float]:
        """Each value summed over the processes."""
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, group=self.control)
        return t.tolist()

    def max(self, value: float) -> float:
        """The largest of the processes' ``value``s."""
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.control)
        return float(t)

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, by rank."""
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj, group=self.control)
        return out


def _leave() -> None:
    """Leave the process group together: every process waits for the others (a minute at
    most), then tears its group down."""
    if not dist.is_initialized():
        return
    with contextlib.suppress(RuntimeError):
        dist.monitored_barrier(group=_control_group(), timeout=datetime.timedelta(seconds=60))
    dist.destroy_process_group()


_CONTROL: dict[Any, Any] = {}
#: Generators `seed_stream` has made this rank's (a second `fit` leaves them as they are).
_SEEDED: weakref.WeakSet = weakref.WeakSet()


def _control_group() -> Any:
    """The group decisions travel on, as CPU tensors: the default group when it is Gloo's,
    else one Gloo group made once (NCCL carries GPU tensors only)."""
    if dist.get_backend() == "gloo":
        return dist.group.WORLD
    key = id(dist.group.WORLD)
    if key not in _CONTROL:
        _CONTROL[key] = dist.new_group(backend="gloo")
    return _CONTROL[key]


__all__ = ["Distributed", "launched", "rank"]
