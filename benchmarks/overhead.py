"""Overhead of `unroll` against hand-written PyTorch, and inference throughput against torch.mm.

Workload (issue 2): ``unroll(ISTA, 16, learn=["step", "threshold"])`` on a 250×500 Gaussian
sparse-recovery problem, batch 64, float32, against two hand-written plain PyTorch loops:
softplus-constrained per-layer step and threshold, ``Aᴴy`` once, and per layer
``x ← soft(x − α_k (AᴴA x − Aᴴy), α_k λ_k)``, with ``AᴴA x``

* ``plain_same``: as one product with a precomputed ``MᵀM``, exactly what `Matrix.gram` does
  here (n ≤ 2m): the same maths, so ours / plain_same is the library's overhead;
* ``plain_formula``: as the two products ``(x Mᵀ) M`` of the formula, what a user writes first.

Measured side by side in one process, interleaved (ours, plain_same, plain_formula, ours, ...)
so drift hits all alike; each figure is a median over repetitions.

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
    """Hand-written unrolled ISTA: what a user would write without the library.

    ``gram=False`` writes ``AᴴA x`` as the two products of the formula; ``gram=True``
    precomputes ``MᵀM`` once, as `unrolled.ops.Matrix` does when n ≤ 2m (the same maths as ours).
    """

    def __init__(
        self, M: torch.Tensor, layers: int, step: float, threshold: float, gram: bool = False
    ) -> None:
        super().__init__()
        self.M = M
        self.G = M.T @ M if gram else None
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
            AtAx = x @ self.G if self.G is not None else (x @ M.T) @ M
            v = x - step[k] * (AtAx - Aty)
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


def summary(times: dict[str, list[float]], flops: int | None = None) -> dict:
    """Median ms per variant, and ours / plain ratios (of medians, and median of paired ratios)."""
    out: dict = {f"{k}_ms": 1e3 * statistics.median(v) for k, v in times.items()}
    for plain in ("plain_same", "plain_formula"):
        paired = [a / b for a, b in zip(times["ours"], times[plain], strict=True)]
        out[f"ratio_to_{plain}"] = statistics.median(times["ours"]) / statistics.median(
            times[plain]
        )
        out[f"paired_ratio_to_{plain}"] = statistics.median(paired)
    if flops is not None:
        for k, v in times.items():
            out[f"{k}_gflops"] = flops / statistics.median(v) / 1e9
    return out


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
    models = {"ours": ur.unroll(ISTA, K, learn=["step", "threshold"], operator=A)}
    defaults = {"step": 1 / A.lipschitz(), "threshold": ISTA().params["threshold"].default}
    models["plain_same"] = PlainISTA(M, K, **defaults, gram=True)
    models["plain_formula"] = PlainISTA(M, K, **defaults, gram=False)
    with torch.no_grad():
        for plain in ("plain_same", "plain_formula"):  # same maths, to rounding
            torch.testing.assert_close(models["ours"](y), models[plain](y), rtol=1e-4, atol=1e-5)

    result: dict = {
        "benchmark": "overhead",
        "command": "python benchmarks/overhead.py",
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
            "timing": "median over reps, variants interleaved in one process",
        },
        "peer": {"deepinv": "not installed on this machine; not measured"},
    }

    def training(calls: dict) -> dict[str, Callable[[], None]]:
        return {k: training_step(models[k], call, y, x) for k, call in calls.items()}

    def inference(calls: dict) -> dict[str, Callable[[], None]]:
        def run(call: Callable) -> Callable[[], None]:
            def go() -> None:
                with torch.no_grad():
                    call(y)

            return go

        return {k: run(call) for k, call in calls.items()}

    # Throughput counts matmul flops: Aᴴy once, then AᴴA x per layer (4Bmn as two products,
    # 2Bn² with MᵀM; equal at n = 2m, the workload here).
    flops = 2 * B * m * n + K * min(4 * B * m * n, 2 * B * n * n)
    print(
        f"eager: training step (forward + backward + Adam) and inference, {args.reps} reps",
        flush=True,
    )
    result["train_step_eager"] = summary(interleaved(training(models), args.reps, warmup=10))
    result["inference_eager"] = summary(interleaved(inference(models), args.reps, warmup=10), flops)
    if not args.no_compile:
        print("torch.compile: training step and inference", flush=True)
        torch._dynamo.reset()
        compiled = {k: torch.compile(v) for k, v in models.items()}
        result["train_step_compiled"] = summary(
            interleaved(training(compiled), args.reps, warmup=5)
        )
        with torch.no_grad():
            compiled = {k: torch.compile(v) for k, v in models.items()}
            times = interleaved(inference(compiled), args.reps, warmup=5)
        result["inference_compiled"] = summary(times, flops)

    mm_same = mm_gflops([(B, n, m), (B, m, n)], args.reps)
    mm_square = mm_gflops([(1024, 1024, 1024)], max(10, args.reps // 10))
    result["torch_mm_gflops"] = {
        "layer_shapes": mm_same,
        "layer_shapes_are": f"({B}x{n})@({n}x{m}) then ({B}x{m})@({m}x{n}), the formula's two products",
        "square_1024": mm_square,
    }
    result["inference_flops_per_forward"] = flops
    if "inference_compiled" in result:
        ours = result["inference_compiled"]["ours_gflops"]
        result["inference_compiled"]["fraction_of_mm_layer_shapes"] = ours / mm_same
        result["inference_compiled"]["fraction_of_mm_square_1024"] = ours / mm_square

    targets = {
        "train_step_eager_overhead_at_most": 1.05,
        "compiled_inference_fraction_of_mm_at_least": 0.70,
    }
    checks = {
        "train_step_eager_overhead": result["train_step_eager"]["ratio_to_plain_same"]
        <= targets["train_step_eager_overhead_at_most"]
    }
    if "inference_compiled" in result:
        for key in ("fraction_of_mm_layer_shapes", "fraction_of_mm_square_1024"):
            checks[f"compiled_inference_{key}"] = (
                result["inference_compiled"][key]
                >= targets["compiled_inference_fraction_of_mm_at_least"]
            )
    result["targets"] = targets
    result["meets_targets"] = checks

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({k: v for k, v in result.items() if k not in ("machine", "workload")}, indent=2)
    )
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
