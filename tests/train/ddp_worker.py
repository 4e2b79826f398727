"""Run under torchrun by test_distributed.py, in OUT: `unrolled train run.yaml` (the CLI, whole),
then the same run with `fit`, stopped after `STOP` steps (as a kill would) and resumed from its
last checkpoint, writing this rank's weights to OUT/resumed/rank{RANK}.safetensors."""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from safetensors.torch import save_file

import unrolled as ur
from unrolled.data import SparseCoding
from unrolled.train import fit

#: The run, as test_distributed.py's config gives it to `unrolled train`.
PROBLEM = {"m": 30, "n": 60, "sparsity": 0.2, "seed": 3, "validation_size": 50, "test_size": 10}
MODEL = {"name": "lista-cp", "layers": 3}
TRAIN = {"max_steps": 12, "batch_size": 16, "eval_every": 4, "checkpoint_every": 4}
STOP = 6  # the interruption, between the checkpoints of steps 4 and 8


def problem() -> SparseCoding:
    return SparseCoding(**PROBLEM)


def model(p: Any) -> torch.nn.Module:
    return ur.create(MODEL["name"], operator=p.operator, layers=MODEL["layers"])


def train(p: Any, net: torch.nn.Module, **kwargs: Any) -> torch.nn.Module:
    return fit(net, p, device="cpu", progress=False, **TRAIN, **kwargs)


class Interrupted(Exception):
    pass


def stop(info: dict) -> None:
    if info["step"] == STOP:
        raise Interrupted


if __name__ == "__main__":
    from unrolled.cli import main

    out = sys.argv[1]
    if main(["train", os.path.join(out, "run.yaml"), "--device", "cpu"]) != 0:
        sys.exit(1)
    out = os.path.join(out, "resumed")
    run = os.path.join(out, "run")
    try:
        train(problem(), model(problem()), run_dir=run, callback=stop)
    except Interrupted:
        pass
    net = train(problem(), model(problem()), resume=run)
    weights = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(weights, os.path.join(out, f"rank{os.environ['RANK']}.safetensors"))
