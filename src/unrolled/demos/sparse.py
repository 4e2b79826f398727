"""``unrolled demo`` (``--task sparse``, the default): ALISTA against ISTA and FISTA, layer by
layer, on the LISTA benchmark (sparse coding, 250×500, noiseless), with the iterations each
classical method needs to match the network; a figure and a report in the run directory."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..algorithms import FISTA, ISTA
from ..analysis import compare_with_classical, plot_nmse, write_report
from ..analysis.report import reach_text
from ..data import SparseCoding
from ..data.sparse import CLASSICAL_LAMBDA
from ..models import alista
from ..train import fit, read_config


def run_sparse_demo(
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    train: Mapping[str, Any] | None = None,
    *,
    layers: int = 16,
    batch: int | None = None,
    lr: float | None = None,
    max_iterations: int = 20000,
    m: int = 250,
    n: int = 500,
    test_size: int = 1000,
) -> None:
    """Train ALISTA (``layers`` layers, its recipe; ``batch`` and ``lr`` override it, ``train``
    adds `fit` settings such as the device) for ``seconds`` on sparse coding ``m``×``n`` (p =
    0.1, noiseless, ``seed``), then print its test NMSE per layer beside ISTA's and FISTA's
    (ℓ1 weight `CLASSICAL_LAMBDA`) and the iterations they need (up to ``max_iterations``) to
    reach its final NMSE; ``run_dir`` gets the run, ``nmse.png`` and ``report.md``."""
    train = dict(train or {})
    problem = SparseCoding(m, n, 0.1, seed=seed, validation_size=500, test_size=test_size)
    run_dir = Path(run_dir)
    print(f"{problem}: training ALISTA ({layers} layers) for {seconds:g} s -> {run_dir}")
    net = alista(operator=problem.operator, layers=layers)
    start = time.perf_counter()
    overrides = {"lr": lr, "batch_size": batch}
    fit(
        net,
        problem,
        max_seconds=seconds,
        run_dir=run_dir,
        **{k: v for k, v in overrides.items() if v is not None},
        **train,
    )
    net.cpu()
    used = read_config(run_dir)["fit"]
    trained = time.perf_counter() - start
    x, y = problem.test
    classical = {
        "ISTA": ISTA(threshold=CLASSICAL_LAMBDA),
        "FISTA": FISTA(threshold=CLASSICAL_LAMBDA),
    }
    print(f"Counting ISTA/FISTA iterations (up to {max_iterations}) to match it ...", flush=True)
    result = compare_with_classical(
        net, classical, y, problem.operator, x, max_iterations=max_iterations
    )

    print(f"\nTest NMSE (dB), mean over {len(x)} samples:")
    header = f"{'layer':>5}  {'ALISTA':>9}  {'ISTA':>9}  {'FISTA':>9}"
    print(header + "\n" + "-" * len(header))
    for k, value in enumerate(result.network):
        ista, fista = (result.classical[n][k] for n in ("ISTA", "FISTA"))
        print(f"{k + 1:>5}  {value:>9.2f}  {ista:>9.2f}  {fista:>9.2f}")
    final = result.network[-1]
    print(f"\nTo reach ALISTA's {final:.2f} dB after {layers} layers:")
    for name, reached in result.to_reach.items():
        print(f"  {reach_text(name, reached, result.cap, layers)}")

    plot = plot_nmse(result, run_dir / "nmse.png", label="ALISTA")
    details = [
        f"problem: {problem}",
        f"model: ALISTA, {layers} layers, trained {used['schedule']} for {trained:.0f} s "
        f"(Adam, lr {used['lr']:g}, batches of {used['batch_size']}); run files in this "
        f"directory",
        f"classical: ISTA and FISTA with step 1/L and l1 weight {CLASSICAL_LAMBDA:g}",
        f"iterations counted on the first {min(256, len(x))} test samples",
    ]
    report = write_report(
        result,
        run_dir / "report.md",
        title="unrolled demo",
        label="ALISTA",
        details=details,
        plot=plot.name,
    )
    print(f"\nWrote {plot} and {report}")


__all__ = ["run_sparse_demo"]
