"""Plots (matplotlib, the ``cli`` extra; drawn off-screen)."""

from __future__ import annotations

import os
from pathlib import Path

from .compare import LayerComparison


def plot_nmse(comparison: LayerComparison, path: str | Path, *, label: str = "learned") -> Path:
    """NMSE (dB) against layer / iteration on a log axis: the network per layer, each classical
    algorithm per iteration over its whole search (its first iterations where no search ran),
    so the plot shows how many iterations they need. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    K = len(comparison.network)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.plot(range(1, K + 1), comparison.network, "o-", label=f"{label} (per layer)")
    for name, values in comparison.classical.items():
        values = comparison.curves.get(name) or values
        ax.plot(range(1, len(values) + 1), values, "-", label=f"{name} (per iteration)")
    ax.set_xscale("log")
    ax.set_xlabel("layer / iteration")
    ax.set_ylabel("test NMSE (dB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
