"""``unrolled demo --task mimo``: OAMP-Net2 trained for a few minutes on 4×4 QPSK over i.i.d.
Rayleigh channels, then its symbol error rate next to MMSE, OAMP (the untrained network) and
exact ML, at a few SNRs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..algorithms import OAMP
from ..comms import error_rates, maximum_likelihood, mmse
from ..core import create
from ..data import MIMODetection
from ..train import fit

SNRS = (5.0, 10.0, 15.0, 20.0)


@dataclass
class MIMODemo:
    """SER per detector and SNR: ``ser[name][i]`` at ``snrs[i]``, with Wilson 95 % intervals."""

    snrs: tuple[float, ...]
    ser: dict[str, list[float]]
    interval: dict[str, list[tuple[float, float]]]
    train_steps: int


def run_mimo_demo(
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    layers: int = 10,
    snrs: tuple[float, ...] = SNRS,
    symbols: int = 200_000,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> MIMODemo:
    """Train OAMP-Net2 (``layers`` layers, SNR uniform in 5–25 dB) for ``seconds`` into
    ``run_dir``, then measure every detector on the same fresh samples, ``symbols`` symbols (or
    500 errors) per SNR, and print the table. ``train``: more `fit` settings (``device``,
    ``precision``, ``compile``); the detectors are measured on the CPU."""
    problem = MIMODetection(4, 4, "qpsk", snr_db=(5.0, 25.0), seed=seed, test_size=1)
    c = problem.constellation
    net = create("oamp-net2", operator=problem.operator, layers=layers)
    log(f"{problem!r}: training oamp-net2 ({layers} layers) for {seconds:g} s -> {run_dir}")
    steps: list[int] = []
    t0 = time.perf_counter()
    fit(net, problem, loss="mse", lr=1e-2, batch_size=256, max_seconds=seconds,
        run_dir=Path(run_dir), callback=lambda info: steps.append(info["step"]),
        **(train or {}))  # fmt: skip
    log(f"trained {steps[-1] if steps else 0} steps in {time.perf_counter() - t0:.0f} s")
    net.cpu().eval()
    detectors = {
        "MMSE": lambda y, A: c.nearest(mmse(y, A)),
        f"OAMP ({layers} it.)": lambda y, A: c.nearest(OAMP(c).run(y, A, iterations=layers)),
        "OAMP-Net2": lambda y, A: c.nearest(net(y, A)),
        "ML": lambda y, A: maximum_likelihood(y, A, c),
    }
    ser: dict[str, list[float]] = {n: [] for n in detectors}
    interval: dict[str, list[tuple[float, float]]] = {n: [] for n in detectors}
    with torch.no_grad():
        for snr in snrs:
            at = problem.with_snr(snr)
            for name, detect in detectors.items():
                g = torch.Generator().manual_seed(seed + int(10 * snr))  # the same samples each

                def sample(batch: int, g: torch.Generator = g, at: MIMODetection = at):
                    x, y, A = at.measure(batch, g)
                    return at.indices(x), y, A

                rate = error_rates(detect, sample, c, min_errors=500, max_symbols=symbols)["ser"]
                ser[name].append(rate.rate)
                interval[name].append(rate.interval())
    header = "SNR (dB)  " + "".join(f"{n:>16}" for n in detectors)
    log("Symbol error rate, 4x4 QPSK, i.i.d. Rayleigh (same samples for every detector):")
    log(header)
    for i, snr in enumerate(snrs):
        log(f"{snr:8.1f}  " + "".join(f"{ser[n][i]:>16.2e}" for n in detectors))
    return MIMODemo(tuple(snrs), ser, interval, steps[-1] if steps else 0)
