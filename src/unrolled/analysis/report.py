"""A Markdown report of a learned network against its classical algorithms."""

from __future__ import annotations

import os
from pathlib import Path

from .compare import LayerComparison


def reach_text(name: str, reached: tuple[int | None, float], cap: int, depth: int) -> str:
    """One sentence: how many classical iterations match the network, and the factor saved."""
    iterations, best = reached
    if iterations is None:
        return (
            f"{name} does not reach it within {cap} iterations (best {best:.2f} dB): more than "
            f"{cap / depth:.0f}x the network's {depth} layers"
        )
    return f"{name} needs {iterations} iterations: {iterations / depth:.1f}x the network's {depth} layers"


def table(comparison: LayerComparison, label: str) -> list[str]:
    names = list(comparison.classical)
    header = ["layer", f"{label} (mean)", f"{label} (median)", *names]
    rows = [f"| {' | '.join(header)} |", "|" + " --- |" * len(header)]
    for k, value in enumerate(comparison.network):
        cells = [str(k + 1), f"{value:.2f}", f"{comparison.network_median[k]:.2f}"]
        cells += [f"{comparison.classical[n][k]:.2f}" for n in names]
        rows.append(f"| {' | '.join(cells)} |")
    return rows


def write_report(
    comparison: LayerComparison,
    path: str | Path,
    *,
    title: str,
    label: str,
    details: list[str],
    plot: str | None = None,
) -> Path:
    """Write ``report.md``: what ran, the per-layer table, the iterations saved, the plot."""
    depth = len(comparison.network)
    lines = [f"# {title}", "", *[f"- {d}" for d in details], "", "## Test NMSE (dB) per layer", ""]
    lines += table(comparison, label)
    lines += ["", f"## Iterations to reach the network's {comparison.network[-1]:.2f} dB", ""]
    lines += [
        f"- {reach_text(n, r, comparison.cap, depth)}." for n, r in comparison.to_reach.items()
    ]
    if plot:
        lines += ["", f"![NMSE per layer and iteration]({plot})"]
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
