"""``benchmarks/imaging.py --gpu``: the imaging headline pairs at their GPU configs, in one run
for a lent GPU's few minutes (issue 18).

Each pair trains the model of ``configs/gpu/<config>.yaml`` (the papers' sizes; MRI on MNI152
brain slices) for an equal share of the budget with ``unrolled train``'s own code on the device,
then measures it on its problem's held-out test set beside the problem's classical baselines,
ships the weights (`unrolled.pretrained`, the entry ``<name>``) and merges the result, tagged
with the device, steps and seconds, into ``results/imaging.json`` under ``"gpu"``.

The baselines depend on the problem alone: ``--baselines-only`` measures them on a CPU
beforehand (into ``imaging.json``'s ``"baselines"``), so the GPU's minutes go to training:

    python benchmarks/imaging.py --gpu --baselines-only        # here, on the CPU, once
    python benchmarks/imaging.py --gpu                         # on the GPU: about 9 minutes
    python benchmarks/imaging.py --gpu --device cpu --gpu-seconds 20 --pairs modl  # a dry run
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import weights
from common import merge_results
from unrolled.config import load_config
from unrolled.runs import build_problem, train_run
from unrolled.train.device import resolve_device

ROOT = Path(__file__).resolve().parent.parent
GPU_CONFIGS = ROOT / "configs" / "gpu"
#: Where the runs go (each replaced by the next run of its pair).
RUN_ROOT = ROOT / "runs" / "gpu-benchmark"
#: The headline pairs: config in ``configs/gpu/`` -> the name its weights ship under.
PAIRS = {
    "ista-net-plus": "cs-25-gpu",
    "modl": "mri-8coil-4x-gpu",
    "varnet": "mri-8coil-4x-gpu",
    "admm-net": "mri-1coil-4x-gpu",
    "learned-primal-dual-ct": "ct-30-angles-gpu",
    "usrnet": "deblur-motion-gpu",
    "pnp-hqs": "deblur-motion-gpu",
}
#: Of each pair's share of the budget, what goes to training (the rest: building the problem,
#: the first steps' compilation of kernels, the test set, writing the weights).
TRAINING_SHARE = 0.8


def measure_baselines(pairs: Sequence[str], results: Path) -> None:
    """Score the classical baselines of each pair's problem into ``results`` (skipping those
    already there)."""
    for config in pairs:
        problem = build_problem(load_config(GPU_CONFIGS / f"{config}.yaml"))
        print(f"{config}: {problem.describe()}", flush=True)
        for name, scores in weights.baselines(problem, results).items():
            print(f"  {name}: {scores}", flush=True)


def run(
    seconds: float,
    device: str,
    pairs: Sequence[str] = tuple(PAIRS),
    results: Path = weights.RESULTS,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, measure and ship each pair in ``seconds`` in all on ``device``; ``overrides``:
    more `fit` settings for every pair (a dry run's ``max_steps``)."""
    where = resolve_device(device)
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        raise ValueError(f"pairs: expected some of {sorted(PAIRS)}, got {unknown}")
    share = seconds / len(pairs) * TRAINING_SHARE
    out = {}
    for config in pairs:
        path = GPU_CONFIGS / f"{config}.yaml"
        run_dir = RUN_ROOT / config
        shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run each time
        print(f"{config}: training {share:.0f} s on {where}", flush=True)
        settings = {"device": str(where), "progress": False, **(overrides or {})}
        trained = train_run(path, run_dir=run_dir, max_seconds=share, overrides=settings)
        summary = weights.package(
            trained.run_dir,
            PAIRS[config],
            str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            device=where,
            section="gpu",
            results=results,
        )
        out[config] = summary
        print(json.dumps({k: summary[k] for k in ("model", "margin")}), flush=True)
    merge_results(results, ("gpu-run",), {"seconds": seconds, "pairs": list(pairs)})
    return out


__all__ = ["PAIRS", "measure_baselines", "run"]
