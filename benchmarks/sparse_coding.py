"""Sparse-coding benchmark: classical iterations against the published ones, and learned networks.

Parts (each merges its results into benchmarks/results/sparse_coding.json, so the benchmark
runs in pieces and in the background):

    python benchmarks/sparse_coding.py --part classical    # Borgerding et al. 2017, SNR 40 dB

``classical``: A 250×500 with i.i.d. N(0, 1/m) entries (columns not normalised), x
Bernoulli(0.1)-Gaussian, SNR 40 dB (noise variance p·n/m·10^(−SNR/10)), 1000 test samples, as in
Borgerding et al.'s ``onsager_deep_learning``. AMP runs with α = 1.1402; ISTA and FISTA solve the
lasso whose λ matches AMP's fixed point, λ = α σ̂ (1 − ‖x̂‖₀/m) (the published script), here the
mean over samples of that per-sample λ. NMSE in dB is of the mean linear NMSE, the published
definition. Published: iterations to reach −35 dB, AMP 25, FISTA 202, ISTA 3420; all settle near
−36.7 dB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch

from unrolled.algorithms import AMP, FISTA, ISTA
from unrolled.core import Layer
from unrolled.data import SparseCoding

RESULTS = Path(__file__).parent / "results" / "sparse_coding.json"
PUBLISHED_CLASSICAL = {
    "source": "Borgerding et al. 2017, onsager_deep_learning README (read)",
    "iterations_to_minus_35_db": {"amp": 25, "fista": 202, "ista": 3420},
    "settles_near_db": -36.7,
}


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "device": "cpu"}


def nmse_db_of_mean(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """10·log10 of the mean over samples of ‖x̂ − x‖²/‖x‖² (Borgerding's definition)."""
    ratio = (x_hat - x).square().sum(1) / x.square().sum(1).clamp_min(1e-30)
    return float(10 * torch.log10(ratio.mean()))


def curve(algorithm, y, A, x, iterations: int) -> list[float]:
    """NMSE (dB) after each of ``iterations`` classical iterations."""
    out = []
    with torch.no_grad():
        for t, x_hat in enumerate(algorithm.iterate(y, A)):
            out.append(nmse_db_of_mean(x_hat, x))
            if t + 1 == iterations:
                return out
    return out


def first_below(values: list[float], level: float) -> int | None:
    return next((t + 1 for t, v in enumerate(values) if v <= level), None)


def classical(args: argparse.Namespace) -> dict:
    problem = SparseCoding(
        250, 500, 0.1, snr_db=40.0, normalize_columns=False, seed=args.seed, dtype=torch.float64
    )
    x, y = problem.test
    A = problem.operator
    amp = AMP()
    t0 = time.perf_counter()
    amp_curve = curve(amp, y, A, x, args.amp_iterations)
    # λ matched to AMP's fixed point: run AMP's state once more to read its residual.
    with torch.no_grad():
        state, values = amp.init(y, A), amp.defaults(A)
        for t in range(args.amp_iterations):
            state = amp.update(state, y, A, Layer(values, t))
        m = y.shape[1]
        sigma = state.z.norm(dim=1) / m**0.5
        lam = float((1.1402 * sigma * (1 - (state.x != 0).sum(1) / m)).mean())
    fista_curve = curve(FISTA(threshold=lam), y, A, x, args.fista_iterations)
    ista_curve = curve(ISTA(threshold=lam), y, A, x, args.ista_iterations)
    seconds = time.perf_counter() - t0
    curves = {"amp": amp_curve, "fista": fista_curve, "ista": ista_curve}
    return {
        "problem": repr(problem) + ", columns not normalised, float64, 1000 test samples",
        "lambda_for_ista_fista": lam,
        "iterations_to_minus_35_db": {k: first_below(v, -35.0) for k, v in curves.items()},
        "settled_db": {k: v[-1] for k, v in curves.items()},
        "iterations_run": {k: len(v) for k, v in curves.items()},
        "nmse_db_per_iteration": {k: [round(v, 3) for v in c] for k, c in curves.items()},
        "published": PUBLISHED_CLASSICAL,
        "seconds": seconds,
    }


def merge(path: Path, key: str, value: dict) -> dict:
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    data["machine"] = machine()
    data["updated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return data


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["classical"], required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp-iterations", type=int, default=100)
    parser.add_argument("--fista-iterations", type=int, default=1000)
    parser.add_argument("--ista-iterations", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = classical(args)
    merge(args.out, "classical", result)
    summary = {k: result[k] for k in ("iterations_to_minus_35_db", "settled_db", "seconds")}
    print(json.dumps(summary, indent=2))
    print(f"published: {json.dumps(PUBLISHED_CLASSICAL)}")
    return result


if __name__ == "__main__":
    main()
