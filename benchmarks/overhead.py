"""Overhead of `unroll` against hand-written PyTorch, and inference throughput against torch.mm.

Workload (issue 2): ``unroll(ISTA, 16, learn=["step", "threshold"])`` on a 250×500 Gaussian
sparse-recovery problem, batch 64, float32, against two hand-written plain PyTorch loops:
softplus-constrained per-layer step and threshold, ``Aᴴy`` once, and per layer
``x ← soft(x − α_k (AᴴA x − Aᴴy), α_k λ_k)``, with ``AᴴA x``

* ``plain_same``: as one product with a precomputed ``MᵀM``, exactly what `Matrix.gram` does
  here (n ≤ 2m): the same maths, so ours / plain_same is the library's overhead;
* ``plain_formula``: as the two products ``(x Mᵀ) M`` of the formula, what a user writes first.

Measured side by side in one process, interleaved in a fresh random
order each repetition, so drift and cache state hit all alike; each figure is a median over repetitions.

    python benchmarks/overhead.py                 # writes benchmarks/results/overhead.json
    python benchmarks/overhead.py --reps 20 --no-compile --out /tmp/o.json   # quick look
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.analysis.machine import describe_machine

RESULTS = Path(__file__).parent / "results" / "overhead.json"


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
    order, rng = list(fns), random.Random(0)
    for _ in range(reps):
        # A fresh order each repetition: in a fixed order the variant that follows the large
        # torch.mm would always start on the cache that product has just evicted.
        rng.shuffle(order)
        for k in order:
            fn = fns[k]
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


def mm_runner(shapes: list[tuple[int, int, int]]) -> tuple[Callable[[], None], int]:
    """A run of torch.mm over a sequence of (m, k, n) products, and its flops."""
    pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]

    def run() -> None:
        for a, b in pairs:
            torch.mm(a, b)

    return run, sum(2 * m * k * n for m, k, n in shapes)


def markdown(r: dict) -> str:
    """The README's table, from a results dict."""
    te, ie, mm = r["train_step_eager"], r["inference_eager"], r.get("torch_mm_gflops")
    tc, ic = r.get("train_step_compiled"), r.get("inference_compiled")
    m = r["machine"]
    rows = [
        f"| measure ({m['cpu']}, {m['torch_threads']} threads, torch {m['torch']}) | ours | plain, same maths | plain, formula | ours / same maths |",
        "| --- | --- | --- | --- | --- |",
        f"| training step, eager (ms) | {te['ours_ms']:.2f} | {te['plain_same_ms']:.2f} | {te['plain_formula_ms']:.2f} | **{te['ratio_to_plain_same']:.3f}** |",
    ]
    if tc:
        rows.append(
            f"| training step, `torch.compile` (ms) | {tc['ours_ms']:.2f} | {tc['plain_same_ms']:.2f} | {tc['plain_formula_ms']:.2f} | {tc['ratio_to_plain_same']:.3f} |"
        )
    rows.append(
        f"| inference, eager (GFLOP/s) | {ie['ours_gflops']:.0f} | {ie['plain_same_gflops']:.0f} | {ie['plain_formula_gflops']:.0f} | {ie['ratio_to_plain_same']:.3f} (time) |"
    )
    if ic:
        rows.append(
            f"| inference, `torch.compile` (GFLOP/s) | {ic['ours_gflops']:.0f} | {ic['plain_same_gflops']:.0f} | {ic['plain_formula_gflops']:.0f} | {ic['ratio_to_plain_same']:.3f} (time) |"
        )
        rows += [
            "",
            f"Compiled inference runs at **{100 * ic['fraction_of_mm_square_1024']:.0f}%** of this machine's "
            f"`torch.mm` peak ({mm['square_1024']:.0f} GFLOP/s on 1024×1024 products) and "
            f"{100 * ic['fraction_of_mm_layer_shapes']:.0f}% of `torch.mm` on the formula's own thin products "
            f"({mm['layer_shapes']:.0f} GFLOP/s), {100 * ic['fraction_of_mm_gram_shape']:.0f}% of `torch.mm` on "
            f"the {r['workload']['batch']}×{r['workload']['n']} by {r['workload']['n']}×{r['workload']['n']} product a layer runs "
            f"({mm['gram_shape']:.0f} GFLOP/s), timed in the same loop. The hand-written loop of the "
            f"same maths reaches {100 * ic['plain_same_gflops'] / mm['square_1024']:.0f}% of the peak.",
        ]
    return "\n".join(rows)


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
    parser.add_argument(
        "--table", action="store_true", help="print the README table from --out and exit"
    )
    args = parser.parse_args(argv)
    if args.table:
        result = json.loads(args.out.read_text())
        print(markdown(result))
        return result
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
        "machine": describe_machine(),
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
        # torch.mm is timed in the same interleaved loop, so both see the same machine state.
        mm = {
            "square_1024": [(1024, 1024, 1024)],
            "layer_shapes": [(B, n, m), (B, m, n)],
            "gram_shape": [(B, n, n)],
        }
        runners = {k: mm_runner(v) for k, v in mm.items()}
        with torch.no_grad():
            compiled = {k: torch.compile(v) for k, v in models.items()}
            calls = {**inference(compiled), **{k: r for k, (r, _) in runners.items()}}
            times = interleaved(calls, args.reps, warmup=5)
        mm_gflops = {k: f / statistics.median(times.pop(k)) / 1e9 for k, (_, f) in runners.items()}
        result["inference_compiled"] = summary(times, flops)
        result["torch_mm_gflops"] = {
            **mm_gflops,
            "shapes": {k: [f"({a}x{b})@({b}x{c})" for a, b, c in v] for k, v in mm.items()},
        }
        ours = result["inference_compiled"]["ours_gflops"]
        for k, v in mm_gflops.items():
            result["inference_compiled"][f"fraction_of_mm_{k}"] = ours / v
    result["inference_flops_per_forward"] = flops

    targets = {
        "train_step_eager_overhead_at_most": 1.05,
        "compiled_inference_fraction_of_mm_at_least": 0.70,
    }
    checks = {
        "train_step_eager_overhead": result["train_step_eager"]["ratio_to_plain_same"]
        <= targets["train_step_eager_overhead_at_most"]
    }
    if "inference_compiled" in result:
        for key in ("fraction_of_mm_square_1024", "fraction_of_mm_layer_shapes"):
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
    print(f"wrote {args.out}\n\n{markdown(result)}")
    return result


if __name__ == "__main__":
    main()
