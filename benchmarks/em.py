"""Unrolled expectation-maximisation on emission tomography: em-net against MLEM, OSEM and MAP-EM.

Trains ``em-net`` on `unrolled.data.EmissionTomography` with the model and problem of
``configs/em-net.yaml`` (a step budget: reproducible, bitwise on a CPU), then scores on the
held-out phantoms, by NRMSE (%):

* per layer, the network against MLEM and OSEM at the same number of iterations;
* the baselines at their best: MLEM and OSEM stopped where the validation set says, MAP-EM
  (De Pierro, quadratic prior) with its weight tuned on validation, FBP (Hann);
* how many MLEM iterations reach the network's NRMSE (up to ``--max-iterations``; "never" when
  none does): the iterations-saved factor.

    python benchmarks/em.py                 # writes benchmarks/results/em.json
    python benchmarks/em.py --table         # the README's table from it
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import unrolled as ur
from common import describe_machine
from unrolled.algorithms import MLEM
from unrolled.runs import build_model, build_problem, load_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "em.json"


def first_reaching(scores: list[float], target: float) -> int | None:
    """The first iteration (1-based) whose score is at most ``target``; None if none is."""
    return next((i + 1 for i, s in enumerate(scores) if s <= target), None)


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    problem = build_problem(config)
    torch.manual_seed(0)
    net = build_model(config, problem)
    layers = net.layers
    start = time.perf_counter()
    if args.run_dir is None:
        with tempfile.TemporaryDirectory() as run_dir:
            ur.train.fit(net, problem, max_steps=args.steps, run_dir=run_dir)
    else:  # kept: `unrolled eval` reads it, `benchmarks/weights.py` can ship it
        ur.train.fit(net, problem, max_steps=args.steps, run_dir=args.run_dir)
    seconds = time.perf_counter() - start
    net.eval()
    x, y = problem.test
    A, metric = problem.operator, problem.metric
    with torch.no_grad():
        _, trace = net(y, trace=True)
    network = [metric(t, x) for t in trace]
    per_layer = {"em-net": network}
    baselines = {}
    for name, baseline in problem.baselines().items():
        estimates = baseline(layers)  # an iterating method: one estimate per layer
        if len(estimates) == layers > 1:
            per_layer[name] = [metric(t, x) for t in estimates]
        else:
            scores = (metric, *problem.extra_metrics)
            baselines[name] = {m.key: round(m(estimates[-1], x), 3) for m in scores}
    long = [metric(t, x) for t in itertools.islice(MLEM().iterate(y, A), args.max_iterations)]
    reach = first_reaching(long, network[-1])
    best_classical = min(v[metric.key] for v in baselines.values())
    result = {
        "benchmark": "em",
        "command": "python benchmarks/em.py",
        "machine": describe_machine(),
        "problem": problem.describe(),
        "model": {"name": config.model, **config.model_kwargs},
        "training": {"steps": args.steps, "seconds": round(seconds, 1), "recipe": "em-net's"},
        "test_size": int(x.shape[0]),
        "metric": metric.label,
        "per_layer": {k: [round(v, 3) for v in s] for k, s in per_layer.items()},
        "network": {m.key: round(m(trace[-1], x), 3) for m in (metric, *problem.extra_metrics)},
        "baselines": baselines,
        "mlem_iterations_to_reach_network": reach,
        "mlem_iterations_run": args.max_iterations,
        "mlem_best": {"nrmse": round(min(long), 3), "iteration": 1 + long.index(min(long))},
        "iterations_saved_factor": None if reach is None else round(reach / layers, 1),
        "checks": {
            "beats_map_em_and_tuned_osem": network[-1] < best_classical,
            "mlem_needs_20x_layers_or_never": reach is None or reach >= 20 * layers,
        },
    }
    return result


def markdown(r: dict[str, Any]) -> str:
    key = "nrmse"
    rows = [
        f"| {r['problem']}, {r['test_size']} test phantoms | NRMSE (%) | PSNR (dB) |",
        "| --- | --- | --- |",
    ]
    for name, s in r["baselines"].items():
        rows.append(f"| {name} | {s[key]:.2f} | {s['psnr_db']:.2f} |")
    t = r["training"]
    n = r["network"]
    rows.append(
        f"| **em-net**, {len(r['per_layer']['em-net'])} layers ({t['steps']} steps, "
        f"{t['seconds'] / 60:.0f} min) | **{n[key]:.2f}** | **{n['psnr_db']:.2f}** |"
    )
    reach = r["mlem_iterations_to_reach_network"]
    best = r["mlem_best"]
    rows.append("")
    rows.append(
        "MLEM reaches the network's NRMSE "
        + (
            f"after {reach} iterations ({r['iterations_saved_factor']}× the layers)"
            if reach is not None
            else f"at no iteration up to {r.get('mlem_iterations_run', 'the limit')} (its best: "
            f"{best['nrmse']:.2f} % at iteration {best['iteration']})"
        )
        + "."
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "em-net.yaml")
    parser.add_argument("--steps", type=int, default=1200, help="training steps")
    parser.add_argument("--max-iterations", type=int, default=1000, help="MLEM's longest run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="keep the training run there (default: not kept)"
    )
    parser.add_argument("--table", action="store_true", help="print the README table and exit")
    args = parser.parse_args(argv)
    if args.table:
        result = json.loads(args.out.read_text())
    else:
        result = run(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
