"""PDHG: the primal-dual hybrid gradient method of Chambolle & Pock, for TV-regularised
least squares."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, register
from ..ops.gradient import divergence, gradient, project_ball


class PDHGState(NamedTuple):
    x: Tensor  # (B, *in_shape) the primal iterate
    x_bar: Tensor  # (B, *in_shape) the over-relaxed point 2x_t − x_{t−1}
    q: Tensor  # (B, *out_shape) the dual variable of the data term
    p: Tensor  # (B, 2, *in_shape) the dual variable of the gradient


def _step_rule(A: Any) -> float:
    """``1/‖K‖`` for ``K = [A; ∇]``, with ``‖K‖² ≤ ‖A‖² + 8``: τσ‖K‖² ≤ 1 at τ = σ."""
    return 1.0 / math.sqrt(A.lipschitz() + 8.0)


@register("pdhg")
class PDHG(Algorithm):
    """Chambolle & Pock 2011 (θ = 1) for ``min_x ½‖Ax − y‖² + λ TV(x)``, isotropic TV
    (`unrolled.priors.TV`), written as ``min_x F(Kx) + 0`` with ``K = [A; ∇]``:

        q_{t+1} = (q_t + σ (A x̄_t − y)) / (1 + σ)          (prox of the conjugate of ½‖· − y‖²)
        p_{t+1} = Π_{|·| ≤ λ}(p_t + σ ∇x̄_t)                (projection, per pixel)
        x_{t+1} = x_t − τ (Aᴴ q_{t+1} + ∇ᴴ p_{t+1})
        x̄_{t+1} = 2 x_{t+1} − x_t,                          x_0 = x̄_0 = 0, q_0 = p_0 = 0

    No inner solves: one ``A``, one ``Aᴴ`` and two finite differences per iteration. Converges
    for ``τσ‖K‖² ≤ 1``; the default ``τ = σ = 1/√(‖A‖² + 8)`` meets it.

    Params: ``tau`` τ, ``sigma`` σ (primal and dual steps), ``threshold`` λ (default 0.01).

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape) images ``(…, H, W)``.
    """

    tau = Param(_step_rule, positive=True, doc="primal step τ")
    sigma = Param(_step_rule, positive=True, doc="dual step σ")
    threshold = Param(0.01, positive=True, doc="TV weight λ")

    def init(self, y: Tensor, A: Any) -> PDHGState:
        x = torch.zeros_like(A.H(y))  # not in place: A.H may hand back y itself
        return PDHGState(x, x, y.new_zeros(y.shape), gradient(x))

    def update(self, state: PDHGState, y: Tensor, A: Any, p: Layer) -> PDHGState:
        x, x_bar, q, dual = state
        q = (q + p.sigma * (A(x_bar) - y)) / (1 + p.sigma)
        step = dual + p.sigma * gradient(x_bar)
        dual = project_ball(step, p.threshold)
        x_new = x - p.tau * (A.H(q) - divergence(dual[:, 0], dual[:, 1]))
        return PDHGState(x_new, 2 * x_new - x, q, dual)
