"""What a learned network buys over classical algorithms: NMSE per layer and iterations saved."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..core import Algorithm
from ..metrics import nmse_db


@dataclass
class LayerComparison:
    """Test NMSE (dB, mean over samples) of a network per layer and of classical algorithms.

    Attributes:
        network: ``(K,)`` the network after each layer.
        network_median: ``(K,)`` the median over samples.
        classical: name -> NMSE after each of its first ``K`` iterations.
        to_reach: name -> ``(iterations, best)``: the classical iterations needed to reach the
            network's final NMSE (``None`` if not within the cap) and the best NMSE seen.
        curves: name -> NMSE after every iteration of that search (on its samples).
        cap: the most classical iterations tried.
    """

    network: list[float]
    network_median: list[float]
    classical: dict[str, list[float]] = field(default_factory=dict)
    to_reach: dict[str, tuple[int | None, float]] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    cap: int = 0


@torch.no_grad()
def iterations_to_reach(
    algorithm: Algorithm,
    y: Tensor,
    A: Any,
    x: Tensor,
    target_db: float,
    max_iterations: int,
    curve: list[float] | None = None,
) -> tuple[int | None, float]:
    """Run ``algorithm`` classically until its mean NMSE (dB) is ≤ ``target_db``.

    Returns ``(t, best)``: the first iteration ``t`` reaching the target (``None`` if none of
    ``max_iterations`` did) and the lowest mean NMSE (dB) seen. Iterates are not kept; each
    iteration's NMSE is appended to ``curve`` if given.
    """
    best = math.inf
    for t, x_hat in enumerate(itertools.islice(algorithm.iterate(y, A), max_iterations)):
        db = float(nmse_db(x_hat, x))
        if curve is not None:
            curve.append(db)
        best = min(best, db)
        if db <= target_db:
            return t + 1, best
    return None, best


@torch.no_grad()
def compare_with_classical(
    net: nn.Module,
    classical: dict[str, Algorithm],
    y: Tensor,
    A: Any,
    x: Tensor,
    *,
    max_iterations: int = 20000,
    search_samples: int = 256,
) -> LayerComparison:
    """NMSE per layer of ``net`` and per iteration of each classical algorithm, and how many
    classical iterations reach the network's final NMSE.

    Args:
        net: a network ``net(y, trace=True) -> (x, trace (K, B, n))``.
        classical: name -> algorithm, run with its own defaults.
        y, A, x: the test set, ``y`` (B, m), ``x`` (B, n).
        max_iterations: the most classical iterations tried when counting.
        search_samples: the count runs on the first samples only (thousands of iterations on
            the whole test set would dominate the run time); the target is the network's NMSE
            on those same samples.
    """
    net.eval()
    _, trace = net(y, trace=True)
    per_sample = torch.stack([nmse_db(t, x, reduction="none") for t in trace])  # (K, B)
    K = trace.shape[0]
    out = LayerComparison(
        network=per_sample.mean(1).tolist(),
        network_median=per_sample.median(1).values.tolist(),
        cap=max_iterations,
    )
    ys, xs = y[:search_samples], x[:search_samples]
    target = float(per_sample[-1, :search_samples].mean())
    for name, algorithm in classical.items():
        _, steps = algorithm.run(y, A, iterations=K, trace=True)
        out.classical[name] = [float(nmse_db(s, x)) for s in steps]
        out.curves[name] = []
        out.to_reach[name] = iterations_to_reach(
            algorithm, ys, A, xs, target, max_iterations, out.curves[name]
        )
    return out
