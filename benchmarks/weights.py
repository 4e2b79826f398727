"""Package the weights of a finished training run as shipped weights (`unrolled.pretrained`),
measured on the problem's held-out test set beside its classical baselines.

    unrolled train configs/weights/modl-mri-mni.yaml          # the long CPU config (or on a GPU)
    python benchmarks/weights.py runs/weights/modl-mri-mni --name mri-8coil-4x
    python benchmarks/weights.py --table                      # the README's tables

writes ``src/unrolled/weights/<model>/<name>.safetensors`` and its record (``.json``: the model
and problem arguments, the config, device, steps and seconds of training, the test scores beside
each baseline, the check the test suite repeats), and merges the same scores into
``benchmarks/results/imaging.json`` under ``"shipped"``, where the README's table comes from.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import describe_machine, merge_results
from unrolled import pretrained
from unrolled.config import load_config
from unrolled.data.problem import final_baselines
from unrolled.runs import CONFIG_YAML, build_model, build_problem
from unrolled.train import load_weights
from unrolled.train.checkpoint import METRICS, STATE_JSON
from unrolled.train.config import prepare_model
from unrolled.train.device import OnDevice

RESULTS = Path(__file__).parent / "results" / "imaging.json"
#: How the tables name a metric's key, and the unit of its margin.
LABELS = {"psnr_db": ("PSNR (dB)", " dB"), "nrmse": ("NRMSE (%)", " points")}


def _scores(problem: Any, estimate: torch.Tensor, x: torch.Tensor) -> dict[str, float]:
    metrics = (problem.metric, *problem.extra_metrics)
    return {m.key: round(m(estimate, x), 3) for m in metrics}


def _training(run: Path, config_path: str, device: torch.device) -> dict[str, Any]:
    state = json.loads((run / STATE_JSON).read_text())
    records = [json.loads(line) for line in (run / METRICS).read_text().splitlines()]
    machine = describe_machine()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {
        "config": config_path,
        "device": where,
        "cpu": machine["cpu"],
        "threads": machine["torch_threads"],
        "steps": int(state["position"]["step"]),
        "seconds": round(float(state["position"]["seconds"]), 1),
        "best_validation": next(
            (v for k, v in records[-1].items() if k.startswith("best_val_")), None
        ),
        "date": datetime.date.today().isoformat(),
    }


def baselines(problem: Any, results: Path = RESULTS) -> dict[str, dict[str, float]]:
    """The problem's classical baselines scored on its test set, from ``results`` when they
    are there (under ``"baselines"``, keyed by the problem's repr: they depend on the problem
    alone, so a GPU run reuses the scores measured on a CPU beforehand), else measured here and
    merged in."""
    key = repr(problem)
    done = json.loads(results.read_text()).get("baselines", {}) if results.exists() else {}
    if key not in done:
        x = problem.test[0]
        scores = {k: _scores(problem, e, x) for k, e in final_baselines(problem).items()}
        merge_results(results, ("baselines", key), scores)
        done[key] = scores
    return done[key]


def margin(metric: Any, value: float, classical: dict[str, dict[str, float]]) -> float:
    """How far ``value`` is ahead of the best of the ``classical`` scores, in the metric's units,
    positive when ahead whichever way the metric points (dB of PSNR; points of NRMSE)."""
    scores = [v[metric.key] for v in classical.values()]
    return value - max(scores) if metric.higher_is_better else min(scores) - value


@torch.no_grad()
def package(
    run: Path,
    name: str,
    config_path: str,
    device: str | torch.device = "cpu",
    section: str = "shipped",
    results: Path = RESULTS,
) -> dict[str, Any]:
    """Measure the run's network (on ``device``) and the problem's baselines on the test set,
    write the shipped-weights entry ``name`` and merge the summary into ``results`` under
    ``section``."""
    device = torch.device(device)
    config = load_config(run / CONFIG_YAML)
    problem = build_problem(config)
    net = build_model(config, problem)
    prepare_model(net, problem)
    load_weights(net, run)
    net.eval()
    x, y, *A = problem.test
    estimate = OnDevice(net, device)(y, *A)
    net.cpu()
    ours = _scores(problem, estimate, x)
    classical = baselines(problem, results)
    metric = problem.metric
    scores = {
        "test_size": int(x.shape[0]),
        "metric": metric.key,
        "model": ours,
        "baselines": classical,
        "margin": round(margin(metric, ours[metric.key], classical), 3),
    }
    check = {"metric": metric.key, "value": round(metric(estimate, x), 4)}
    entry = pretrained.save(
        net,
        config.model,
        name,
        model_kwargs=dict(config.model_kwargs),
        problem={"name": config.problem, **config.problem_kwargs},
        trained=_training(run, config_path, device),
        results=scores,
        check=check,
    )
    summary = {
        "weights": f"{entry.model}/{entry.name}",
        "problem": problem.describe(),
        **scores,
        "trained": entry.trained,
    }
    merge_results(results, (section, f"{entry.model}/{entry.name}"), summary)
    return summary


def table(results: Path = RESULTS, section: str = "shipped") -> str:
    """The README's tables of ``section``'s entries, one per problem (the entries of one problem
    share its baselines): the test score of each network (the problem's metric) beside each
    baseline, the margin over the best, and how it was trained."""
    entries = json.loads(results.read_text()).get(section, {})
    by_problem: dict[str, list[tuple[str, dict]]] = {}
    for key, r in entries.items():
        by_problem.setdefault(r["problem"], []).append((key, r))
    lines = []
    for group in by_problem.values():
        names = list(group[0][1]["baselines"])
        key = group[0][1]["metric"]
        label, unit = LABELS.get(key, (key, ""))
        lines += [
            f"| weights, test {label} | samples | "
            + " | ".join(names)
            + " | network | margin | trained |",
            "| --- | --- | " + " | ".join("---" for _ in names) + " | --- | --- | --- |",
        ]
        for name, r in group:
            t = r["trained"]
            cells = [f"{r['baselines'][n][key]:.2f}" for n in names]
            lines.append(
                f"| `{name}` | {r['test_size']} | {' | '.join(cells)} | "
                f"**{r['model'][key]:.2f}** | {r['margin']:+.2f}{unit} | "
                f"{t['steps']} steps, {t['seconds'] / 60:.0f} min, {t['device']} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="a finished `unrolled train` run")
    parser.add_argument("--name", help="the entry's name (mri-8coil-4x)")
    parser.add_argument("--config", help="the config it was trained with (for the record)")
    parser.add_argument("--table", action="store_true", help="print the README's tables")
    args = parser.parse_args()
    if args.table:
        print(table())
        return
    if args.run_dir is None or args.name is None:
        parser.error("RUN_DIR and --name are required (or --table)")
    summary = package(args.run_dir, args.name, args.config or str(args.run_dir / CONFIG_YAML))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
