"""LAMP: learned AMP (Borgerding, Schniter & Rangan 2017)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..algorithms import AMP
from ..core import Layer, Param, Unrolled, register, unroll
from ..core.checks import positive_int
from ._common import Rule, dense, operator_sizes, sized_params

#: AMP's default threshold multiplier α (Borgerding et al.'s 1.1402).
ALPHA = AMP.param_specs["alpha"].default


class LAMPIteration(AMP):
    """One layer of LAMP: AMP (`unrolled.algorithms.AMP`) with a matrix ``B_t`` in place of the
    back-projection ``Aᵀ``; default ``B = Aᵀ`` makes it one AMP step.

    Args:
        m, n: the operator's sizes, ``A: ℝⁿ -> ℝᵐ``.

    Shapes: ``y`` (B, m), ``x`` (B, n), ``B`` (n, m), ``alpha`` ().
    """

    B = Param(Rule(lambda A: dense(A).mT, "Aᵀ"), doc="B (n, m): the back-projection")

    def __init__(self, m: int, n: int, **overrides: Any) -> None:
        self.m, self.n = positive_int(m, "m"), positive_int(n, "n")
        super().__init__(**sized_params(type(self), overrides, B=(n, m)))

    def backproject(self, z: Tensor, A: Any, p: Layer) -> Tensor:
        return z @ p.B.mT


@register("lamp", kind="model")
def lamp(
    *, operator: Any = None, layers: int = 16, alpha: float = ALPHA, backprop: str = "full"
) -> Unrolled:
    """LAMP-ℓ1, learned AMP with soft thresholding (Borgerding, Schniter & Rangan 2017).

        r_t     = x_t + B_t z_t
        x_{t+1} = η(r_t; α_t ‖z_t‖₂/√m)                     (soft threshold)
        z_{t+1} = y − A x_{t+1} + (‖x_{t+1}‖₀/m) z_t,        x_0 = 0, z_0 = y

    AMP's iteration (`unrolled.algorithms.AMP`, whose ``backproject`` it overrides) with a
    learned back-projection. The Onsager term ``b_{t+1} z_t``, ``b = ‖x‖₀/m``, keeps the
    effective noise in ``r_t`` Gaussian-like, so few layers suffice. Learned, per layer: ``B_t``
    (n, m) and the threshold multiplier ``α_t`` (> 0, softplus). Initialised at ``B = Aᵀ``,
    ``α = 1.1402``: before training the network computes exactly ``layers`` AMP iterations.

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ`` (AMP's theory wants i.i.d. entries of
            variance 1/m).
        layers: K, the depth.
        alpha: α's initial value.
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns an `unrolled.Unrolled` with params ``B`` (K, n, m) and ``alpha`` (K,); ``y``
    (B, m) -> ``x`` (B, n).

    Departures from the paper: Borgerding et al.'s code initialises ``B = Aᵀ/(1.01·‖A‖²)`` and,
    in its LAMP script, ties one ``B`` across layers; here ``B_t = Aᵀ`` per layer, so that the
    untrained network is AMP. They train layer-wise (grow one layer at a time, then refine),
    which is `unrolled.train`'s business. α is kept positive.
    """
    m, n = operator_sizes(operator, "lamp")
    return unroll(
        LAMPIteration(m, n, alpha=alpha),
        layers,
        learn=["B", "alpha"],
        operator=operator,
        backprop=backprop,
    )


__all__ = ["LAMPIteration", "lamp"]
