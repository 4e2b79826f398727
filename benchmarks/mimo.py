"""MIMO detection: SER against SNR for the learned detectors (OAMP-Net2, DetNet, MMNet, ep-net)
next to MMSE, ZF, OAMP, AMP, EP (10 iterations) and exact ML (exhaustive search or the sphere
decoder), their gap to ML at SER 10⁻³, and the throughput and latency of every detector.

One system per call; each merges into benchmarks/results/mimo.json:

    python benchmarks/mimo.py --system 4x4-qpsk --seconds 120       # i.i.d. Rayleigh
    python benchmarks/mimo.py --system 4x4-qpsk-corr --seconds 120   # Kronecker, ρ = 0.5
    python benchmarks/mimo.py --system 16x16-qpsk --seconds 240
    python benchmarks/mimo.py --system 60x30-bpsk --seconds 240      # DetNet's real BPSK
    python benchmarks/mimo.py --part speed                           # detections/s, latency
    python benchmarks/mimo.py --system 4x4-qpsk --per-snr --seconds 120  # one network per SNR
    python benchmarks/mimo.py --table | --plot

SNR follows `unrolled.comms.channel`: per receive antenna, Es/N0, channel entries of variance
1/n. Learned detectors train with `unrolled.train.fit` on fresh channels at SNRs uniform in the
system's training range (with ``--per-snr``, as He et al.'s code does: a network trained at
each grid SNR alone and measured there, on a coarser grid, key ``"<system> per-snr"``), then
every detector is measured on the same samples at each SNR:
a point stops after ``--errors`` symbol errors or ``--symbols`` symbols (Wilson 95 % intervals
in the JSON). The SNR at SER 10⁻³ is interpolated log-linearly between grid points.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import unrolled as ur
from common import merge_results
from unrolled.algorithms import EP, MIMOAMP, OAMP
from unrolled.comms import error_rates, maximum_likelihood, mmse, sphere_decoder, zero_forcing
from unrolled.data import MIMODetection
from unrolled.train import fit

RESULTS = Path(__file__).parent / "results" / "mimo.json"
TARGET_SER = 1e-3


@dataclass
class System:
    receive: int
    transmit: int
    constellation: str
    correlation: float
    snrs: tuple[float, ...]
    train_snr: tuple[float, float]
    learned: tuple[str, ...]
    classical: tuple[str, ...]
    layers: dict[str, int]
    ml: str  # "exhaustive", "sphere" or "none"


SYSTEMS = {
    "4x4-qpsk": System(4, 4, "qpsk", 0.0, tuple(range(0, 32, 2)), (5.0, 25.0),
                       ("oamp-net2", "ep-net"), ("zf", "mmse", "oamp", "ep"),
                       {"oamp-net2": 10, "ep-net": 10}, "exhaustive"),
    "4x4-qpsk-corr": System(4, 4, "qpsk", 0.5, tuple(range(0, 32, 2)), (5.0, 25.0),
                            ("oamp-net2", "ep-net"), ("zf", "mmse", "oamp", "ep"),
                            {"oamp-net2": 10, "ep-net": 10}, "exhaustive"),
    "16x16-qpsk": System(16, 16, "qpsk", 0.0, tuple(range(0, 22, 2)), (4.0, 16.0),
                         ("oamp-net2", "detnet", "mmnet", "ep-net"), ("mmse", "amp", "oamp", "ep"),
                         {"oamp-net2": 10, "detnet": 30, "mmnet": 10, "ep-net": 10}, "sphere"),
    "60x30-bpsk": System(60, 30, "bpsk", 0.0, tuple(range(0, 14, 2)), (7.0, 14.0),
                         ("detnet", "oamp-net2", "mmnet", "ep-net"), ("mmse", "amp", "oamp", "ep"),
                         {"detnet": 90, "oamp-net2": 10, "mmnet": 10, "ep-net": 10}, "sphere"),
}  # fmt: skip


def problem(system: System, snr: float | tuple[float, float], seed: int) -> MIMODetection:
    return MIMODetection(
        system.receive,
        system.transmit,
        system.constellation,
        snr_db=snr,
        correlation=system.correlation,
        seed=seed,
        validation_size=2000,
        test_size=1,
    )


def train(
    name: str, system: System, seconds: float, seed: int, snr: tuple[float, float] | None = None
) -> tuple[torch.nn.Module, dict]:
    """``name`` trained on fresh channels over ``snr`` (default: the system's training range);
    DetNet on the real-valued equivalent with its log(k) per-layer loss."""
    torch.manual_seed(seed)
    real = name == "detnet"
    snr = system.train_snr if snr is None else snr
    p = MIMODetection(
        system.receive, system.transmit, system.constellation, snr_db=snr,
        correlation=system.correlation, real=real, seed=seed, validation_size=2000, test_size=1,
    )  # fmt: skip
    layers = system.layers[name]
    net = ur.create(name, operator=p.operator, layers=layers, constellation=system.constellation)
    extra: dict[str, Any] = {"loss": "mse", "lr": 1e-3 if real else 1e-2}
    if real:
        extra.update(loss="nmse", schedule="deep-supervision", layer_weights="log")
    steps: list[int] = []
    t0 = time.perf_counter()
    fit(net, p, max_seconds=seconds, batch_size=256, progress=False,
        callback=lambda info: steps.append(info["step"]), **extra)  # fmt: skip
    net.eval()
    info = {
        "layers": layers,
        "parameters": sum(q.numel() for q in net.parameters()),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "train_steps": steps[-1] if steps else 0,
        "train_snr_db": list(snr),
    }
    return net, info


def detectors(system: System, nets: dict[str, torch.nn.Module]) -> dict[str, Callable]:
    """name -> detect(y, A) -> symbol indices ``(B, n)``."""
    c = ur.comms.Constellation(system.constellation)
    out: dict[str, Callable] = {
        "zf": lambda y, A: c.nearest(zero_forcing(y, A)),
        "mmse": lambda y, A: c.nearest(mmse(y, A)),
        "oamp": lambda y, A: c.nearest(OAMP(c).run(y, A, iterations=10)),
        "amp": lambda y, A: c.nearest(MIMOAMP(c).run(y, A, iterations=20)),
        "ep": lambda y, A: c.nearest(EP(c).run(y, A, iterations=10)),
    }
    out = {k: v for k, v in out.items() if k in system.classical}
    for name, net in nets.items():
        if name == "detnet" and c.is_complex:  # the real-valued equivalent in and out
            out[name] = lambda y, A, net=net: c.nearest(
                ur.comms.complex_vector(net(ur.comms.real_vector(y), A.real()))
            )
        else:
            out[name] = lambda y, A, net=net: c.nearest(net(y, A))
    if system.ml == "exhaustive":
        out["ml"] = lambda y, A: maximum_likelihood(y, A, c)
    elif system.ml == "sphere":
        out["ml (sphere)"] = lambda y, A: sphere_decoder(y, A, c)
    return out


def snr_at(curve: list[dict], target: float = TARGET_SER) -> float | None:
    """The SNR (dB) where SER crosses ``target``, interpolated log-linearly; None if it never
    does on the grid."""
    for a, b in itertools.pairwise(curve):
        sa, sb = a["ser"]["rate"], b["ser"]["rate"]
        if sa >= target > sb:
            if sb == 0:
                return b["snr_db"]
            t = (math.log10(sa) - math.log10(target)) / (math.log10(sa) - math.log10(sb))
            return a["snr_db"] + t * (b["snr_db"] - a["snr_db"])
    return None


@torch.no_grad()
def curves(
    system: System, detect_at: Callable[[float], dict[str, Callable]], args: argparse.Namespace
) -> dict:
    """SER and BER of ``detect_at(snr)``'s detectors at each of the system's SNRs."""
    c = ur.comms.Constellation(system.constellation)
    out: dict[str, list[dict]] = {}
    for snr in system.snrs:
        p = problem(system, float(snr), args.seed + 1)
        detect = detect_at(float(snr))
        for name, fn in detect.items():
            out.setdefault(name, [])
            if out[name] and out[name][-1]["ser"]["rate"] == 0:
                continue  # no errors at a lower SNR: none to find higher up
            gen = torch.Generator().manual_seed(args.seed + 100 + int(snr))

            def sample(batch: int, p: MIMODetection = p, gen: torch.Generator = gen):
                x, y, A = p.measure(batch, gen)
                return p.indices(x), y, A

            batch = 256 if name.startswith("ml (sphere)") else args.batch
            limit = args.sphere_symbols if name.startswith("ml (sphere)") else args.symbols
            t0 = time.perf_counter()
            rates = error_rates(
                fn, sample, c, min_errors=args.errors, max_symbols=limit, batch=batch
            )
            out[name].append(
                {"snr_db": float(snr), "ser": rates["ser"].as_dict(), "ber": rates["ber"].as_dict(),
                 "seconds": round(time.perf_counter() - t0, 2)}
            )  # fmt: skip
        print(f"  {snr:5.1f} dB: " + ", ".join(
            f"{n} {out[n][-1]['ser']['rate']:.2e}" for n in detect if out[n]), flush=True)  # fmt: skip
    return out


def run_system(args: argparse.Namespace) -> dict:
    system = SYSTEMS[args.system]
    nets, info = {}, {}
    for name in system.learned:
        print(f"{args.system}: training {name} for {args.seconds} s", flush=True)
        nets[name], info[name] = train(name, system, args.seconds, args.seed)
    detect = detectors(system, nets)
    return summarise(system, curves(system, lambda snr: detect, args), info, args)


def run_per_snr(args: argparse.Namespace) -> dict:
    """The authors' protocol: one OAMP-Net2 per SNR, trained at that SNR alone and measured
    there (He et al.'s code), next to OAMP and ML on the same samples. ``--snrs`` sets the grid
    (each point costs a training budget)."""
    base = SYSTEMS[args.system]
    system = dataclasses.replace(
        base, snrs=tuple(args.snrs), classical=("oamp",), learned=("oamp-net2",)
    )
    nets: dict[float, dict[str, torch.nn.Module]] = {}
    info: dict[str, dict] = {}
    for snr in system.snrs:
        nets[snr] = {}
        for name in system.learned:
            print(f"{args.system}: training {name} at {snr} dB for {args.seconds} s", flush=True)
            net, info[f"{name} at {snr:g} dB"] = train(
                name, system, args.seconds, args.seed, snr=(snr, snr)
            )
            nets[snr][f"{name} (one per SNR)"] = net
    data = curves(system, lambda snr: detectors(system, nets[snr]), args)
    return summarise(system, data, info, args)


def summarise(system: System, data: dict, info: dict, args: argparse.Namespace) -> dict:
    """The JSON entry of a system: its curves, each detector's SNR at SER 10⁻³ and gap to ML."""
    ml = next((k for k in data if k.startswith("ml")), None)
    snr_ml = snr_at(data[ml]) if ml else None
    summary = {}
    for name, curve in data.items():
        s = snr_at(curve)
        summary[name] = {
            "snr_at_ser_1e-3": None if s is None else round(s, 2),
            "gap_to_ml_db": None if s is None or snr_ml is None else round(s - snr_ml, 2),
        }
    return {
        "system": {"receive": system.receive, "transmit": system.transmit,
                   "constellation": system.constellation, "correlation": system.correlation},
        "training": info,
        "curves": data,
        "summary": summary,
        "limits": {"errors": args.errors, "symbols": args.symbols, "sphere_symbols": args.sphere_symbols},
    }  # fmt: skip


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def _median_of(fn: Callable[[Any], Any], inputs: list[Any]) -> float:
    times = []
    for item in inputs:
        t0 = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


@torch.no_grad()
def speed(args: argparse.Namespace) -> dict:
    """Detections per second at batch 4096 (the sphere decoder: 64 vectors) and latency at batch
    1 (the median over 21 different vectors), each the median of repetitions, for 16×16 QPSK
    at 10 dB, untrained learned detectors (their cost does not depend on training)."""
    system = SYSTEMS["16x16-qpsk"]
    p = problem(system, 10.0, args.seed)
    nets = {}
    for name in system.learned:
        real = name == "detnet"
        q = MIMODetection(16, 16, "qpsk", real=real, validation_size=4, test_size=1)
        nets[name] = ur.create(name, operator=q.operator, layers=system.layers[name]).eval()
    detect = detectors(system, nets)
    out = {}
    gen = torch.Generator().manual_seed(args.seed)
    big = p.measure(4096, gen)
    singles = [p.measure(1, gen) for _ in range(21)]
    sphere_batch = p.measure(64, gen)
    for name, fn in detect.items():
        if name.startswith("ml"):
            per = _median_seconds(lambda fn=fn: fn(sphere_batch[1], sphere_batch[2]), 3) / 64
            throughput = 1 / per
        else:
            fn(big[1], big[2])  # warm-up
            throughput = 4096 / _median_seconds(lambda fn=fn: fn(big[1], big[2]), 5)
        fn(singles[0][1], singles[0][2])  # warm-up
        # a different vector each time: the sphere decoder's work depends on the channel
        latency = _median_of(lambda one, fn=fn: fn(one[1], one[2]), singles)
        out[name] = {
            "detections_per_second": round(throughput, 1),
            "latency_ms": round(1e3 * latency, 3),
        }
        print(f"  {name}: {throughput:.0f} /s, {1e3 * latency:.2f} ms", flush=True)
    sphere = out.get("ml (sphere)", {}).get("detections_per_second")
    for v in out.values():
        v["speedup_over_sphere"] = (
            None if not sphere else round(v["detections_per_second"] / sphere, 1)
        )
    return {"system": "16x16 QPSK, 10 dB", "batch": 4096, "detectors": out}


def markdown(data: dict) -> str:
    lines = [
        "| system | detector | SNR at SER 1e-3 (dB) | gap to ML (dB) |",
        "| --- | --- | --- | --- |",
    ]
    for key, entry in data.items():
        if not isinstance(entry, dict) or "summary" not in entry:
            continue
        for name, s in entry["summary"].items():
            snr = "—" if s["snr_at_ser_1e-3"] is None else f"{s['snr_at_ser_1e-3']:.1f}"
            gap = "—" if s["gap_to_ml_db"] is None else f"{s['gap_to_ml_db']:+.1f}"
            lines.append(f"| {key} | {name} | {snr} | {gap} |")
    if "speed" in data:
        lines += ["", "| detector (16×16 QPSK) | detections/s (batch 4096) | latency (ms) | × sphere decoder |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        for name, v in data["speed"]["detectors"].items():
            lines.append(f"| {name} | {v['detections_per_second']:.0f} | {v['latency_ms']:.2f} | "
                         f"{v['speedup_over_sphere'] or '—'} |")  # fmt: skip
    return "\n".join(lines)


def plot(data: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [k for k in data if k in SYSTEMS]
    colors: dict[str, Any] = {}  # one colour per detector in every panel
    palette = iter(plt.get_cmap("tab10").colors)
    fig, axes = plt.subplots(1, len(systems), figsize=(4.5 * len(systems), 4), squeeze=False)
    for ax, key in zip(axes[0], systems, strict=True):
        per_snr = data.get(f"{key} per-snr", {}).get("curves", {})
        learned_per_snr = {k: v for k, v in per_snr.items() if k.endswith("(one per SNR)")}
        for name, curve in {**data[key]["curves"], **learned_per_snr}.items():
            pts = [(c["snr_db"], c["ser"]["rate"]) for c in curve if c["ser"]["rate"] > 0]
            if pts:
                base = name.split(" (")[0]  # "ml (sphere)" is ML's colour
                if base not in colors:
                    colors[base] = next(palette)
                ls = "--" if name in learned_per_snr else "-"
                ax.semilogy(
                    *zip(*pts, strict=True), marker="o", ms=3, ls=ls, c=colors[base], label=name
                )
        ax.axhline(TARGET_SER, color="grey", lw=0.5, ls="--")
        ax.set(title=key, xlabel="SNR (dB, per receive antenna)", ylabel="SER")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--system", choices=sorted(SYSTEMS))
    parser.add_argument("--part", choices=["speed"])
    parser.add_argument(
        "--per-snr", action="store_true", help="one learned network per SNR (the authors' protocol)"
    )
    parser.add_argument(
        "--snrs",
        type=float,
        nargs="+",
        default=[14.0, 18.0, 22.0, 26.0, 30.0],
        help="the SNR grid of --per-snr (dB)",
    )
    parser.add_argument(
        "--seconds", type=float, default=120, help="training budget per learned detector"
    )
    parser.add_argument("--errors", type=int, default=200, help="symbol errors per SNR point")
    parser.add_argument(
        "--symbols", type=int, default=400_000, help="at most this many symbols per point"
    )
    parser.add_argument(
        "--sphere-symbols", type=int, default=20_000, help="the sphere decoder's limit"
    )
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true")
    parser.add_argument(
        "--plot", type=Path, nargs="?", const=Path(__file__).parent / "results" / "mimo.png"
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.table or args.plot:
        data = json.loads(args.out.read_text())
        if args.table:
            print(markdown(data))
        if args.plot:
            print(plot(data, args.plot))
        return data
    if args.part == "speed":
        return merge_results(args.out, "speed", speed(args))["speed"]
    if args.system is None:
        parser.error("--system is required (or --part speed, --table, --plot)")
    if args.per_snr:
        key = f"{args.system} per-snr"
        return merge_results(args.out, key, run_per_snr(args))[key]
    return merge_results(args.out, args.system, run_system(args))[args.system]


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
