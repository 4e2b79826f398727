"""ADMM for ``min_x ½‖Ax − y‖² + λ R(x)`` (scaled form)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..core.checks import positive_int
from ..priors import L1


class ADMMState(NamedTuple):
    x: Tensor  # (B, *in_shape) the data-term variable
    z: Tensor  # (B, *in_shape) the prior variable (the estimate)
    u: Tensor  # (B, *in_shape) the scaled dual variable
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


@register("admm")
class ADMM(Algorithm):
    """ADMM (Boyd et al. 2011, §6.4) on the split ``x = z``:

        x_{t+1} = (AᴴA + ρI)⁻¹ (Aᴴy + ρ (z_t − u_t))
        z_{t+1} = prox_{(λ/ρ) R}(x_{t+1} + u_t)
        u_{t+1} = u_t + η (x_{t+1} − z_{t+1}),      x_0 = z_0 = u_0 = 0

    The x-update is ``A.solve_gram``: Cholesky for a `unrolled.ops.Matrix`, ``cg_iterations``
    steps of conjugate gradient for other operators (or the operator's own closed form). The
    output is ``z``. With the multiplier step η = 1 (the default) it is Boyd et al.'s ADMM,
    which converges for any ρ > 0; η relaxes the dual update (η ∈ (0, (1 + √5)/2) converges,
    Glowinski 1984), and ADMM-Net (Yang et al. 2016) learns one per stage.

    Args:
        cg_iterations: CG steps per x-update when the operator has no direct solver.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    rho = Param(1.0, positive=True, doc="penalty ρ")
    threshold = Param(0.1, positive=True, doc="regularisation weight λ")
    eta = Param(1.0, positive=True, doc="multiplier step η (the dual update's relaxation)")
    prox = Slot(L1(), doc="prox(v, tau) -> x, the proximal map of tau·R")

    def __init__(self, cg_iterations: int = 50, **overrides: Any) -> None:
        self.cg_iterations = positive_int(cg_iterations, "cg_iterations")
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any) -> ADMMState:
        Aty = A.H(y)
        zero = torch.zeros_like(Aty)
        return ADMMState(zero, zero, zero, Aty)

    def update(self, state: ADMMState, y: Tensor, A: Any, p: Layer) -> ADMMState:
        _, z, u, Aty = state
        x = A.solve_gram(Aty + p.rho * (z - u), p.rho, self.cg_iterations)
        z = p.prox(x + u, p.threshold / p.rho)
        return ADMMState(x, z, u + p.eta * (x - z), Aty)

    def output(self, state: ADMMState) -> Tensor:
        return state.z
