"""ISTA: proximal gradient descent (iterative shrinkage-thresholding)."""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..priors import L1
from ._steps import gradient_step, start_slot, starting_point


class ISTAState(NamedTuple):
    x: Tensor  # (B, *in_shape) the iterate
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


class ProximalGradient(Algorithm):
    """The params and slots of proximal-gradient methods for ``½‖Ax − y‖² + λ R(x)`` (abstract:
    `ISTA` and `FISTA` define the iteration)."""

    step = Param("1/L", positive=True, doc="gradient step α")
    threshold = Param(0.1, positive=True, doc="regularisation weight λ")
    prox = Slot(L1(), doc="prox(v, tau) -> x, the proximal map of tau·R")
    start = start_slot()


@register("ista")
class ISTA(ProximalGradient):
    """Proximal gradient descent for ``min_x ½‖Ax − y‖² + λ R(x)`` (Daubechies, Defrise & De Mol
    2004; with R = ‖·‖₁ it is ISTA):

        x_{t+1} = prox_{α λ R}(x_t − α Aᴴ(A x_t − y)),     x_0 = start(y, A) = 0

    Params: ``step`` α (default 1/L, L = ‖A‖², which guarantees convergence) and ``threshold``
    λ, the regularisation weight; the prox shrinks by α·λ. Slots: ``prox(v, tau)``, default the
    soft threshold (`unrolled.priors.L1`); ``start(y, A) -> x_0``, default 0.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> ISTAState:
        Aty = A.H(y)
        return ISTAState(starting_point(y, A, Aty, p, self.slots["start"].default), Aty)

    def update(self, state: ISTAState, y: Tensor, A: Any, p: Layer) -> ISTAState:
        x, Aty = state
        v = gradient_step(x, Aty, A, p)
        return ISTAState(p.prox(v, p.step * p.threshold), Aty)
