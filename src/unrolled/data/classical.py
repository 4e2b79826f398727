"""The classical reconstructions the imaging problems report as baselines: each a method
``(y, A, weight) -> x̂`` and the grid its weight is tuned over (on a problem's validation set,
`unrolled.data.problem.tuned_weight`). Iterations and grids follow the classical imaging
benchmark (``benchmarks/imaging_classical.py``), whose tuned weights they bracket for images in
[0, 1]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..algorithms import ADMM, CG, FISTA, HQS, PDHG
from ..priors import TV

#: A classical method at a regularisation weight: ``(y, A, weight) -> x̂``.
Method = Callable[[Tensor, Any, float], Tensor]

TV_PDHG_ITERATIONS = 240
CG_ITERATIONS = 30
TV_ADMM_ITERATIONS = 60
TV_FISTA_ITERATIONS = 120
HQS_TV_ITERATIONS = 40


def tv_pdhg(y: Tensor, A: Any, weight: float) -> Tensor:
    """TV by Chambolle–Pock (`unrolled.algorithms.PDHG`), MRI's classical regulariser."""
    return PDHG(threshold=weight).run(y, A, iterations=TV_PDHG_ITERATIONS)


def cg_sense(y: Tensor, A: Any, damping: float) -> Tensor:
    """CG-SENSE: conjugate gradient on ``(AᴴA + λI)x = Aᴴy``, stopped early."""
    return CG(damping=damping).run(y, A, iterations=CG_ITERATIONS)


def wiener(y: Tensor, A: Any, weight: float) -> Tensor:
    """The Wiener (Tikhonov) filter ``(AᴴA + λI)⁻¹Aᴴy``, in closed form."""
    return A.solve_gram(A.H(y), weight)


def tv_admm(y: Tensor, A: Any, weight: float) -> Tensor:
    """TV by ADMM with the closed-form x-step (ρ = 20λ)."""
    return ADMM(rho=20 * weight, threshold=weight, prox=TV(20)).run(
        y, A, iterations=TV_ADMM_ITERATIONS
    )


def tv_fista(y: Tensor, A: Any, weight: float) -> Tensor:
    """TV by FISTA with an inexact TV prox (20 dual iterations)."""
    return FISTA(threshold=weight, prox=TV(20)).run(y, A, iterations=TV_FISTA_ITERATIONS)


def hqs_tv(y: Tensor, A: Any, weight: float) -> Tensor:
    """TV by half-quadratic splitting with a growing penalty (super-resolution's)."""
    return HQS(growth=1.2, mu=20 * weight, threshold=weight, prox=TV(20)).run(
        y, A, iterations=HQS_TV_ITERATIONS
    )


def grid(center: float) -> tuple[float, ...]:
    """Weights a half decade and a decade either side of ``center``."""
    return tuple(center * 10 ** (k / 2) for k in range(-2, 3))


__all__ = [
    "Method",
    "cg_sense",
    "grid",
    "hqs_tv",
    "tv_admm",
    "tv_fista",
    "tv_pdhg",
    "wiener",
]
