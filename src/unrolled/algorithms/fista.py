"""FISTA: accelerated proximal gradient descent."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from torch import Tensor

from ..core import Layer, register
from ._steps import gradient_step, starting_point
from .ista import ProximalGradient


class FISTAState(NamedTuple):
    x: Tensor  # (B, *in_shape) the iterate x_t
    z: Tensor  # (B, *in_shape) the extrapolated point z_t
    t: float  # the momentum sequence t_t (data-independent, so a number)
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


@register("fista")
class FISTA(ProximalGradient):
    """FISTA (Beck & Teboulle 2009) for ``min_x ½‖Ax − y‖² + λ R(x)``:

        x_{t+1} = prox_{α λ R}(z_t − α Aᴴ(A z_t − y))
        s_{t+1} = (1 + √(1 + 4 s_t²)) / 2
        z_{t+1} = x_{t+1} + ((s_t − 1)/s_{t+1}) (x_{t+1} − x_t),     x_0 = z_0 = start(y, A) = 0, s_0 = 1

    Params and slot as `ISTA` (both from `ProximalGradient`): ``step`` α (default 1/L),
    ``threshold`` λ, ``prox(v, tau)``, ``start(y, A)``.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> FISTAState:
        Aty = A.H(y)
        x = starting_point(y, A, Aty, p, self.slots["start"].default)
        return FISTAState(x, x, 1.0, Aty)

    def update(self, state: FISTAState, y: Tensor, A: Any, p: Layer) -> FISTAState:
        x, z, t, Aty = state
        x_new = p.prox(gradient_step(z, Aty, A, p), p.step * p.threshold)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z_new = x_new + ((t - 1) / t_new) * (x_new - x)
        return FISTAState(x_new, z_new, t_new, Aty)
