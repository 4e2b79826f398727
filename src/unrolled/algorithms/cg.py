"""CG: conjugate gradient on the (damped) normal equations."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

from torch import Tensor

from ..core import Algorithm, Layer, Param, register
from ..ops.cg import CGState, cg_start, cg_step


class CGNState(NamedTuple):
    cg: CGState  # the CG iterate, residual, direction and ‖r‖²


@register("cg")
class CG(Algorithm):
    """Conjugate gradient (Hestenes & Stiefel 1952) on ``(AᴴA + λI) x = Aᴴy``, the minimiser of
    ``½‖Ax − y‖² + (λ/2)‖x‖²`` (CG-SENSE, Pruessmann et al. 2001, for MRI):

        α_t = ‖r_t‖² / ⟨p_t, M p_t⟩,  x_{t+1} = x_t + α_t p_t,  r_{t+1} = r_t − α_t M p_t,
        β_t = ‖r_{t+1}‖² / ‖r_t‖²,    p_{t+1} = r_{t+1} + β_t p_t,
        M = AᴴA + λI,  x_0 = 0,  r_0 = p_0 = Aᴴy

    Stopped early, CG regularises by itself (few iterations, smooth image). For the
    differentiable solve inside a network layer, with memory that does not grow with the steps,
    see `unrolled.ops.cg_solve`.

    Params: ``damping`` λ ≥ 0 (default 0: the least-squares solution). Learned per layer, the
    matrix changes between steps and the network is CG-like rather than CG (no optimality of
    the Krylov iterate is kept); classical runs use one λ.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    damping = Param(0.0, doc="Tikhonov weight λ ≥ 0 of the normal equations")

    def __init__(self, **overrides: Any) -> None:
        d = overrides.get("damping")
        if isinstance(d, numbers.Real) and d < 0:
            raise ValueError(
                f"damping: expected a number >= 0 (a positive-definite system), got {d}"
            )
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any) -> CGNState:
        return CGNState(cg_start(A.gram, A.H(y)))

    def update(self, state: CGNState, y: Tensor, A: Any, p: Layer) -> CGNState:
        return CGNState(cg_step(lambda v: A.gram(v) + p.damping * v, state.cg))

    def output(self, state: CGNState) -> Tensor:
        return state.cg.x
