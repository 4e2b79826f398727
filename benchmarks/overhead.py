"""Overhead of `unroll` against hand-written PyTorch, and inference throughput against torch.mm.

Workload (issue 2): ``unroll(ISTA, 16, learn=["step", "threshold"])`` on a 250×500 Gaussian
sparse-recovery problem, batch 64, float32. The plain reference is the same maths written by
hand: softplus-constrained per-layer step and threshold, ``Aᴴy`` once, and per layer
``x ← soft(x − α_k (AᴴA x − Aᴴy), α_k λ_k)`` with ``AᴴA x`` as two matmuls.

Measured side by side in one process, interleaved (ours, plain, ours, plain, ...) so drift hits
both alike; each figure is a median over repetitions; ratios are ours / plain.

    python benchmarks/overhead.py                 # writes benchmarks/results/overhead.json
    python benchmarks/overhead.py --reps 20 --no-compile --out /tmp/o.json   # quick look
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import unrolled as ur
from unrolled.algorithms import ISTA

RESULTS = Path(__file__).parent / "results" / "overhead.json"


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": "cpu",
    }


class PlainISTA(nn.Module):
    """Hand-written unrolled ISTA: what a user would write without the library."""

    def __init__(self, M: torch.Tensor, layers: int, step: float, threshold: float) -> None:
        super().__init__()
        self.M = M
        inv_softplus = lambda v: v + torch.log(-torch.expm1(-v))  # noqa: E731
        self.raw_step = nn.Parameter(
            inv_softplus(torch.full((layers,), step, dtype=torch.float64)).float()
        )
        self.raw_threshold = nn.Parameter(
            inv_softplus(torch.full((layers,), threshold, dtype=torch.float64)).float()
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        M = self.M
        step = F.softplus(self.raw_step)
        threshold = F.softplus(self.raw_threshold)
        Aty = y @ M
        x = torch.zeros_like(Aty)
        for k in range(step.shape[0]):
            v = x - step[k] * ((x @ M.T) @ M - Aty)
            tau = step[k] * threshold[k]
            x = v - v.clamp(-tau, tau)
        return x


def problem(m: int, n: int, batch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(m, n, generator=g) / m**0.5
    M = M / M.norm(dim=0, keepdim=True)
    x = torch.randn(batch, n, generator=g) * (torch.rand(batch, n, generator=g) < 0.1)
    return M, x, x @ M.T


def training_step(model: nn.Module, call: Callable, y, x) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        loss = F.mse_loss(call(y), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def interleaved(
    fns: dict[str, Callable[[], None]], reps: int, warmup: int
) -> dict[str, list[float]]:
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def summary(times: dict[str, list[float]], ours: str, plain: str) -> dict:
    ratios = [a / b for a, b in zip(times[ours], times[plain], strict=True)]
    return {
        "ours_ms": 1e3 * statistics.median(times[ours]),
        "plain_ms": 1e3 * statistics.median(times[plain]),
        "ratio": statistics.median(times[ours]) / statistics.median(times[plain]),
        "ratio_paired_median": statistics.median(ratios),
    }


def mm_gflops(shapes: list[tuple[int, int, int]], reps: int) -> float:
    """torch.mm throughput over a sequence of (m, k, n) products, run back to back."""
    pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def run() -> None:
        for a, b in pairs:
            torch.mm(a, b)

    t = statistics.median(interleaved({"mm": run}, reps, warmup=10)["mm"])
    return flops / t / 1e9


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--m", type=int, default=250)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile figures")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    m, n, B, K = args.m, args.n, args.batch, args.layers

    M, x, y = problem(m, n, B)
    A = ur.Matrix(M)
    ours = ur.unroll(ISTA, K, learn=["step", "threshold"], operator=A)
    plain = PlainISTA(M, K, step=1 / A.lipschitz(), threshold=ISTA().params["threshold"].default)
    with torch.no_grad():
        torch.testing.assert_close(ours(y), plain(y), rtol=1e-4, atol=1e-5)  # same maths

    result: dict = {
        "benchmark": "overhead",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "workload": {
            "model": f"unroll(ISTA, {K}, learn=['step', 'threshold'])",
            "m": m,
            "n": n,
            "batch": B,
            "layers": K,
            "dtype": "float32",
            "reps": args.reps,
            "timing": "median over reps, ours and plain interleaved in one process",
        },
        "peer": {"deepinv": "not installed on this machine; not measured"},
    }

    print(f"training step (forward + backward + Adam), {args.reps} reps, eager ...", flush=True)
    times = interleaved(
        {"ours": training_step(ours, ours, y, x), "plain": training_step(plain, plain, y, x)},
        args.reps,
        warmup=10,
    )
    result["train_step_eager"] = summary(times, "ours", "plain")

    # Throughput counts matmul flops only: Aᴴy once, then two products per layer.
    flops = 2 * B * m * n * (1 + 2 * K)
    layer_shapes = [(B, n, m), (B, m, n)]
    mm_same = mm_gflops(layer_shapes, args.reps)
    mm_peak = mm_gflops([(1024, 1024, 1024)], max(10, args.reps // 10))
    result["torch_mm_gflops"] = {
        "same_shapes": mm_same,
        "same_shapes_are": f"({B}x{n})@({n}x{m}) then ({B}x{m})@({m}x{n}), a layer's two products",
        "square_1024": mm_peak,
    }

    def infer(fn):
        def run() -> None:
            with torch.no_grad():
                fn(y)

        return run

    print("inference, eager ...", flush=True)
    t = interleaved({"ours": infer(ours), "plain": infer(plain)}, args.reps, warmup=10)
    inference = {"eager": summary(t, "ours", "plain")}
    inference["eager"]["ours_gflops"] = flops / (inference["eager"]["ours_ms"] / 1e3) / 1e9
    inference["eager"]["plain_gflops"] = flops / (inference["eager"]["plain_ms"] / 1e3) / 1e9

    if not args.no_compile:
        print("training step, torch.compile ...", flush=True)
        torch._dynamo.reset()
        ours_c, plain_c = torch.compile(ours), torch.compile(plain)
        times = interleaved(
            {
                "ours": training_step(ours, ours_c, y, x),
                "plain": training_step(plain, plain_c, y, x),
            },
            args.reps,
            warmup=5,
        )
        result["train_step_compiled"] = summary(times, "ours", "plain")
        print("inference, torch.compile ...", flush=True)
        with torch.no_grad():
            ours_i, plain_i = torch.compile(ours), torch.compile(plain)
            t = interleaved({"ours": infer(ours_i), "plain": infer(plain_i)}, args.reps, warmup=5)
        inference["compiled"] = summary(t, "ours", "plain")
        inference["compiled"]["ours_gflops"] = (
            flops / (inference["compiled"]["ours_ms"] / 1e3) / 1e9
        )
        inference["compiled"]["plain_gflops"] = (
            flops / (inference["compiled"]["plain_ms"] / 1e3) / 1e9
        )
        inference["compiled"]["fraction_of_mm_same_shapes"] = (
            inference["compiled"]["ours_gflops"] / mm_same
        )
        inference["compiled"]["fraction_of_mm_square_1024"] = (
            inference["compiled"]["ours_gflops"] / mm_peak
        )
    inference["flops_per_forward"] = flops
    result["inference"] = inference

    targets = {
        "train_step_eager_ratio_at_most": 1.05,
        "compiled_inference_fraction_of_mm_at_least": 0.70,
    }
    checks = {
        "train_step_eager_ratio": result["train_step_eager"]["ratio"]
        <= targets["train_step_eager_ratio_at_most"]
    }
    if "compiled" in inference:
        checks["compiled_inference_fraction_of_mm_same_shapes"] = (
            inference["compiled"]["fraction_of_mm_same_shapes"]
            >= targets["compiled_inference_fraction_of_mm_at_least"]
        )
    result["targets"] = targets
    result["meets_targets"] = checks

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("train_step_eager", "inference", "torch_mm_gflops", "meets_targets")
                if k in result
            },
            indent=2,
        )
    )
    if "train_step_compiled" in result:
        print("train_step_compiled", json.dumps(result["train_step_compiled"], indent=2))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
