"""Unrolled expectation-maximisation on emission tomography: em-net against MLEM, OSEM and MAP-EM.

Trains ``em-net`` on `unrolled.data.EmissionTomography` with the model and problem of
``configs/em-net.yaml`` (a step budget: reproducible, bitwise on a CPU), then scores on the
held-out phantoms, by NRMSE (%):

* per layer, the network against MLEM and OSEM at the same number of iterations;
* the baselines at their best: MLEM and OSEM stopped where the validation set says, MAP-EM
  (De Pierro, quadratic prior) with its weight tuned on validation, FBP (Hann);
* how many MLEM iterations reach the network's NRMSE (up to ``--max-iterations``; "never" when
  none does): the iterations-saved factor;
* the Poisson log-likelihood of the test counts per layer and per MLEM iteration;
* bias and standard deviation over noise realisations of a few test phantoms, per layer and
  per MLEM iteration (`bias_variance`).

    python benchmarks/em.py                 # writes benchmarks/results/em.json and em.png
    python benchmarks/em.py --table         # the README's table from it (--plot: the figure)
    python benchmarks/em.py --run-dir runs/weights/em-net-pet   # keeps the run, to ship
    python benchmarks/em.py --from-run runs/weights/em-net-pet  # scores a kept run again
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
from common import describe_machine, stored_or_measured
from unrolled.algorithms import MLEM
from unrolled.metrics import bias_and_std, poisson_log_likelihood
from unrolled.runs import CONFIG_YAML, build_model, build_problem, load_config
from unrolled.train import load_weights
from unrolled.train.checkpoint import STATE_JSON

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "em.json"


def first_reaching(scores: list[float], target: float) -> int | None:
    """The first iteration (1-based) whose score is at most ``target``; None if none is."""
    return next((i + 1 for i, s in enumerate(scores) if s <= target), None)


def bias_variance(net: Any, problem: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Bias and standard deviation (%, `unrolled.metrics.bias_and_std`) over
    ``--realisations`` Poisson draws of the first ``--phantoms`` test phantoms: per layer of
    the network, per iteration of MLEM (to ``--bias-iterations``): the field's usual plot."""
    x = problem.test[0][: args.phantoms]
    ys = problem.realisations(x, args.realisations, seed=1)  # (R, P, 1, angles, detector)
    flat = ys.flatten(0, 1)

    def curve(trace: Any) -> list[list[float]]:
        out = []
        for t in trace:
            bias, std = bias_and_std(t.view(args.realisations, *x.shape), x)
            out.append([round(bias, 3), round(std, 3)])
        return out

    _, net_trace = net(flat, trace=True)
    _, mlem_trace = MLEM().run(flat, problem.operator, iterations=args.bias_iterations, trace=True)
    return {
        "phantoms": int(x.shape[0]),
        "realisations": args.realisations,
        "em-net": curve(net_trace),
        "MLEM": curve(mlem_trace),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    problem = build_problem(config)
    torch.manual_seed(0)
    net = build_model(config, problem)
    layers = net.layers
    start = time.perf_counter()
    if args.from_run is not None:  # scored again, not trained: its steps and time as recorded
        load_weights(net, args.from_run)
        position = json.loads((args.from_run / STATE_JSON).read_text())["position"]
        steps, seconds = int(position["step"]), float(position["seconds"])
    else:
        if args.run_dir is None:
            with tempfile.TemporaryDirectory() as run_dir:
                ur.train.fit(net, problem, max_steps=args.steps, run_dir=run_dir)
        else:  # kept with its config: `unrolled eval` reads it, `benchmarks/weights.py` ships it
            args.run_dir.mkdir(parents=True, exist_ok=True)
            (args.run_dir / CONFIG_YAML).write_text(config.text)
            ur.train.fit(net, problem, max_steps=args.steps, run_dir=args.run_dir)
        steps, seconds = args.steps, time.perf_counter() - start
    net.eval()
    x, y = problem.test
    A, metric = problem.operator, problem.metric

    def likelihood(estimate: torch.Tensor) -> float:
        return float(poisson_log_likelihood(y, problem.expected_counts(estimate)).mean())

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
    long, long_likelihood = [], []
    with torch.no_grad():
        for t in itertools.islice(MLEM().iterate(y, A), args.max_iterations):
            long.append(metric(t, x))
            long_likelihood.append(likelihood(t))
        spread = bias_variance(net, problem, args)
    reach = first_reaching(long, network[-1])
    best_classical = min(v[metric.key] for v in baselines.values())
    result = {
        "benchmark": "em",
        "command": "python benchmarks/em.py",
        "machine": describe_machine(),
        "problem": problem.describe(),
        "model": {"name": config.model, **config.model_kwargs},
        "training": {"steps": steps, "seconds": round(seconds, 1), "recipe": "em-net's"},
        "test_size": int(x.shape[0]),
        "metric": metric.label,
        "per_layer": {k: [round(v, 3) for v in s] for k, s in per_layer.items()},
        "network": {m.key: round(m(trace[-1], x), 3) for m in (metric, *problem.extra_metrics)},
        "baselines": baselines,
        "mlem_iterations_to_reach_network": reach,
        "mlem_iterations_run": args.max_iterations,
        "mlem_per_iteration": [round(v, 3) for v in long],
        "log_likelihood": {
            "em-net": [round(likelihood(t), 1) for t in trace],
            "MLEM": [round(v, 1) for v in long_likelihood],
        },
        "bias_std": spread,
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


def plot(r: dict[str, Any], path: Path) -> Path:
    """The README figure: left, NRMSE per layer of em-net against MLEM (to its longest run) and
    OSEM per iteration, with the tuned baselines as lines; right (when measured), bias against
    standard deviation over noise realisations, per layer and per MLEM iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spread = r.get("bias_std")
    fig, axes = plt.subplots(1, 2 if spread else 1, figsize=(12 if spread else 6.4, 4.2), dpi=110)
    ax = axes[0] if spread else axes
    mlem = r.get("mlem_per_iteration") or r["per_layer"]["MLEM"]
    ax.plot(range(1, len(mlem) + 1), mlem, color="tab:gray", label="MLEM")
    for name, values in r["per_layer"].items():
        if name not in ("em-net", "MLEM"):
            ax.plot(range(1, len(values) + 1), values, "--", color="tab:blue", label=name)
    net = r["per_layer"]["em-net"]
    ax.plot(range(1, len(net) + 1), net, "o-", color="tab:red", ms=4, label="em-net (learned)")
    for (name, s), color in zip(
        r["baselines"].items(), ("tab:olive", "tab:purple", "tab:cyan", "tab:green"), strict=False
    ):
        ax.axhline(s["nrmse"], ls=":", color=color, label=f"{name}: {s['nrmse']:.1f} %")
    ax.set_xscale("log")
    ax.set_xlabel("layers / iterations")
    ax.set_ylabel("test NRMSE (%)")
    ax.set_title(f"Emission tomography, {r['test_size']} held-out phantoms", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if spread:
        right = axes[1]
        for name, style in (("MLEM", ".-"), ("em-net", "o-")):
            bias, std = zip(*spread[name], strict=True)
            color = "tab:red" if name == "em-net" else "tab:gray"
            right.plot(
                std,
                bias,
                style,
                color=color,
                ms=4,
                label=f"{name} (per {'layer' if name == 'em-net' else 'iteration'})",
            )
        right.set_xlabel("standard deviation over realisations (%)")
        right.set_ylabel("bias (%)")
        right.set_title(
            f"{spread['realisations']} noise realisations of {spread['phantoms']} test phantoms",
            fontsize=10,
        )
        right.grid(True, alpha=0.3)
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "em-net.yaml")
    parser.add_argument("--steps", type=int, default=1200, help="training steps")
    parser.add_argument("--max-iterations", type=int, default=1000, help="MLEM's longest run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="keep the training run there (default: not kept)"
    )
    parser.add_argument(
        "--from-run", type=Path, default=None, help="score a kept run again instead of training"
    )
    parser.add_argument("--phantoms", type=int, default=4, help="bias-std: test phantoms")
    parser.add_argument("--realisations", type=int, default=20, help="bias-std: noise draws")
    parser.add_argument("--bias-iterations", type=int, default=100, help="bias-std: MLEM's run")
    parser.add_argument("--table", action="store_true", help="print the README table and exit")
    parser.add_argument("--plot", action="store_true", help="redraw the figure and exit")
    args = parser.parse_args(argv)
    result = stored_or_measured(args.out, args.table or args.plot, lambda: run(args))
    if not args.table:
        print(f"wrote {plot(result, args.out.with_suffix('.png'))}")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
