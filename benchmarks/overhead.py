"""Overhead of `unroll` against hand-written PyTorch and DeepInverse, and inference throughput
against torch.mm.

Workload: ``unroll(ISTA, 16, learn=["step", "threshold"])`` on a 250×500 Gaussian
sparse-recovery problem, batch 64, float32: softplus-constrained per-layer step and threshold,
``Aᴴy`` once, and per layer ``x ← soft(x − α_k (AᴴA x − Aᴴy), α_k λ_k)``, against loops written
by hand in plain PyTorch (the baseline is what a user writes, or the fastest known way; never a
copy of our internals):

* ``plain_natural``: what a user writes first: ``AᴴA x`` as the formula's two products
  ``(x Mᵀ) M``, the soft threshold as ``sign(v)·relu(|v| − τ)``;
* ``plain_gram``: the fastest we could write by hand: ``MᵀM`` precomputed once (one product per
  layer, none in the first, where ``x₀ = 0``), the soft threshold as
  ``relu(v − τ) − relu(−v − τ)``;
* ``plain_formula_relu``: the formula's two products with that faster threshold.

"Fastest hand-written" is whichever of them measures fastest. DeepInverse 0.5.0's unfolded PGD
with the L1 prior (`deepinv.optim.PGD(..., unfold=True)`: the same maths, 10 layers, learned
step and λ per layer) is timed against ours at 10 layers when it is installed (``make peers``
makes ``.venv-peers`` with it; run this script with that environment's Python), else skipped
with a message.

Measured side by side in one process, interleaved in a fresh random order each repetition, so
drift and cache state hit all alike; each figure is a median over repetitions.

    python benchmarks/overhead.py                 # writes benchmarks/results/overhead.json
    .venv-peers/bin/python benchmarks/overhead.py # the same, with DeepInverse
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
from common import describe_machine
from unrolled.algorithms import ISTA

RESULTS = Path(__file__).parent / "results" / "overhead.json"
#: The hand-written loops: (products, threshold) of each.
PLAIN = {
    "plain_natural": ("formula", "sign_relu"),
    "plain_gram": ("gram", "relu_pair"),
    "plain_formula_relu": ("formula", "relu_pair"),
}
THRESHOLDS = {
    "sign_relu": lambda v, tau: torch.sign(v) * torch.relu(v.abs() - tau),
    "relu_pair": lambda v, tau: torch.relu(v - tau) - torch.relu(-v - tau),
}


def _inv_softplus(value: float, layers: int) -> torch.Tensor:
    v = torch.full((layers,), value, dtype=torch.float64)
    return (v + torch.log(-torch.expm1(-v))).float()


class PlainISTA(nn.Module):
    """Hand-written unrolled ISTA: what a user would write without the library.

    ``products="formula"`` writes ``AᴴA x`` as the two products of the formula, ``"gram"``
    precomputes ``MᵀM`` once; ``threshold`` names the soft threshold's formulation.
    """

    def __init__(
        self, M: torch.Tensor, layers: int, step: float, threshold: float, products: str,
        soft: str,
    ) -> None:  # fmt: skip
        super().__init__()
        self.M = M
        self.G = M.T @ M if products == "gram" else None
        self.skip_first = products == "gram"  # x₀ = 0: the first layer's AᴴAx is 0
        self.soft = THRESHOLDS[soft]
        self.raw_step = nn.Parameter(_inv_softplus(step, layers))
        self.raw_threshold = nn.Parameter(_inv_softplus(threshold, layers))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        M = self.M
        step = F.softplus(self.raw_step)
        threshold = F.softplus(self.raw_threshold)
        Aty = y @ M
        x = torch.zeros_like(Aty)
        for k in range(step.shape[0]):
            if k == 0 and self.skip_first:
                x = self.soft(step[k] * Aty, step[k] * threshold[k])
                continue
            AtAx = x @ self.G if self.G is not None else (x @ M.T) @ M
            x = self.soft(x - step[k] * (AtAx - Aty), step[k] * threshold[k])
        return x


_SCHEMAS: list = []


def _torchvision_schemas() -> None:
    """torchvision's compiled ops cannot load on this machine's CPU torch; deepinv imports once
    the operator schemas torchvision registers at import are defined (once per process)."""
    if _SCHEMAS:
        return
    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except RuntimeError:  # torchvision's own library already loaded: nothing to stand in for
        return
    _SCHEMAS.append(lib)


def deepinv_pgd(M: torch.Tensor, layers: int, step: float, lam: float) -> Callable | None:
    """DeepInverse's unfolded PGD with the L1 prior on ``A = M`` (``layers`` iterations from
    ``x₀ = 0``, learned step and λ per layer), called as ``f(y)``; None when not installed."""
    try:
        _torchvision_schemas()
        import deepinv as dinv
    except ImportError:
        return None
    physics = dinv.physics.LinearPhysics(A=lambda x: x @ M.T, A_adjoint=lambda y: y @ M)
    model = dinv.optim.PGD(
        data_fidelity=dinv.optim.data_fidelity.L2(),
        prior=dinv.optim.prior.L1Prior(),
        stepsize=[step] * layers,
        lambda_reg=[lam] * layers,
        max_iter=layers,
        unfold=True,
        trainable_params=["stepsize", "lambda"],
        custom_init=lambda y, physics: torch.zeros(y.shape[0], M.shape[1]),
    )
    call = lambda y: model(y, physics)  # noqa: E731
    call.module = model  # type: ignore[attr-defined]
    call.version = dinv.__version__  # type: ignore[attr-defined]
    return call


def problem(m: int, n: int, batch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(m, n, generator=g) / m**0.5
    M = M / M.norm(dim=0, keepdim=True)
    x = torch.randn(batch, n, generator=g) * (torch.rand(batch, n, generator=g) < 0.1)
    return M, x, x @ M.T


def training_step(params, call: Callable, y, x) -> Callable[[], None]:
    opt = torch.optim.Adam(params, lr=1e-4)

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
    """Median ms per variant; ours / each other variant (ratio of medians, and median of the
    paired ratios); ours / the fastest hand-written loop."""
    out: dict = {f"{k}_ms": 1e3 * statistics.median(v) for k, v in times.items()}
    for other in times:
        if other == "ours":
            continue
        paired = [a / b for a, b in zip(times["ours"], times[other], strict=True)]
        out[f"ratio_to_{other}"] = statistics.median(times["ours"]) / statistics.median(
            times[other]
        )
        out[f"paired_ratio_to_{other}"] = statistics.median(paired)
    plain = [k for k in times if k in PLAIN]
    if plain:
        fastest = min(plain, key=lambda k: statistics.median(times[k]))
        out["fastest_hand_written"] = fastest
        out["ratio_to_fastest_hand_written"] = out[f"ratio_to_{fastest}"]
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
    """The README's tables, from a results dict."""
    m = r["machine"]
    head = f"{m['cpu']}, {m['torch_threads']} threads, torch {m['torch']}"
    rows = [
        f"| {head} | ours | natural loop | fastest hand-written | ours / natural | ours / fastest |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, label, unit in (
        ("train_step_eager", "training step, eager", "ms"),
        ("train_step_compiled", "training step, `torch.compile`", "ms"),
        ("inference_eager", "inference, eager", "ms"),
        ("inference_compiled", "inference, `torch.compile`", "ms"),
    ):
        t = r.get(key)
        if not t:
            continue
        fastest = t["fastest_hand_written"]
        bold = "**" if key == "train_step_eager" else ""
        rows.append(
            f"| {label} ({unit}) | {t['ours_ms']:.2f} | {t['plain_natural_ms']:.2f} | "
            f"{t[fastest + '_ms']:.2f} ({fastest.removeprefix('plain_')}) | "
            f"{bold}{t['ratio_to_plain_natural']:.3f}{bold} | "
            f"{bold}{t['ratio_to_fastest_hand_written']:.3f}{bold} |"
        )
    peer = r.get("deepinv")
    if peer and "ratio" in peer:
        rows += [
            "",
            f"| {peer['layers']} layers, training step ({head}) | ours | DeepInverse {peer['version']} unfolded PGD, L1 prior | ours / DeepInverse |",
            "| --- | --- | --- | --- |",
            f"| eager (ms) | {peer['ours_ms']:.2f} | {peer['deepinv_ms']:.2f} | **{peer['ratio']:.3f}** |",
        ]
    ic, mm = r.get("inference_compiled"), r.get("torch_mm_gflops")
    if ic and mm:
        w = r["workload"]
        rows += [
            "",
            f"Compiled inference runs at **{100 * ic['fraction_of_mm_square_1024']:.0f}%** of this "
            f"machine's `torch.mm` peak ({mm['square_1024']:.0f} GFLOP/s on 1024×1024 products), "
            f"{100 * ic['fraction_of_mm_layer_shapes']:.0f}% of `torch.mm` on the formula's own thin "
            f"products ({mm['layer_shapes']:.0f} GFLOP/s) and "
            f"{100 * ic['fraction_of_mm_gram_shape']:.0f}% on the {w['batch']}×{w['n']} by "
            f"{w['n']}×{w['n']} product a layer runs ({mm['gram_shape']:.0f} GFLOP/s), timed in "
            f"the same loop.",
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
    parser.add_argument("--peer-layers", type=int, default=10, help="layers against DeepInverse")
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
    for name, (products, soft) in PLAIN.items():
        models[name] = PlainISTA(M, K, **defaults, products=products, soft=soft)
    with torch.no_grad():
        for name in PLAIN:  # the same maths, to rounding
            torch.testing.assert_close(models["ours"](y), models[name](y), rtol=1e-4, atol=1e-5)

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
            "hand_written": {k: {"products": p, "threshold": t} for k, (p, t) in PLAIN.items()},
        },
    }

    def training(calls: dict) -> dict[str, Callable[[], None]]:
        return {k: training_step(models[k].parameters(), c, y, x) for k, c in calls.items()}

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
    print(f"eager: training step (forward + backward + Adam), inference; {args.reps} reps")
    result["train_step_eager"] = summary(interleaved(training(models), args.reps, warmup=10))
    result["inference_eager"] = summary(interleaved(inference(models), args.reps, warmup=10), flops)

    P = args.peer_layers
    peer = deepinv_pgd(M, P, defaults["step"], defaults["threshold"])
    if peer is None:
        message = "DeepInverse is not installed in this environment (make peers); not measured"
        print(message)
        result["deepinv"] = {"skipped": message}
    else:
        ours_p = ur.unroll(ISTA, P, learn=["step", "threshold"], operator=A)
        with torch.no_grad():  # the same maths, to rounding
            torch.testing.assert_close(ours_p(y), peer(y), rtol=1e-4, atol=1e-5)
        print(f"DeepInverse {peer.version}: training step at {P} layers")
        steps = {
            "ours": training_step(ours_p.parameters(), ours_p, y, x),
            "deepinv": training_step(peer.module.parameters(), peer, y, x),
        }
        t = summary(interleaved(steps, args.reps, warmup=10))
        result["deepinv"] = {
            "version": peer.version,
            "layers": P,
            "model": "deepinv.optim.PGD(L2(), L1Prior(), unfold=True, trainable_params="
            "['stepsize', 'lambda']), x0 = 0",
            "ours_ms": t["ours_ms"],
            "deepinv_ms": t["deepinv_ms"],
            "ratio": t["ratio_to_deepinv"],
            "paired_ratio": t["paired_ratio_to_deepinv"],
        }
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
        "train_step_eager_to_natural_at_most": 1.00,
        "train_step_eager_to_fastest_hand_written_at_most": 1.05,
        "train_step_to_deepinv_at_most": 0.5,
        "compiled_inference_fraction_of_mm_at_least": 0.70,
    }
    te = result["train_step_eager"]
    checks = {
        "train_step_eager_to_natural": te["ratio_to_plain_natural"]
        <= targets["train_step_eager_to_natural_at_most"],
        "train_step_eager_to_fastest_hand_written": te["ratio_to_fastest_hand_written"]
        <= targets["train_step_eager_to_fastest_hand_written_at_most"],
    }
    if "ratio" in result["deepinv"]:
        checks["train_step_to_deepinv"] = (
            result["deepinv"]["ratio"] <= targets["train_step_to_deepinv_at_most"]
        )
    if "inference_compiled" in result:
        checks["compiled_inference_fraction_of_mm_square_1024"] = (
            result["inference_compiled"]["fraction_of_mm_square_1024"]
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
