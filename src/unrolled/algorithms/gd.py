"""Gradient descent on ½‖Ax − y‖² (Landweber iteration)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, register
from ._steps import data_gradient


class GDState(NamedTuple):
    x: Tensor  # (B, *in_shape) the iterate
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


@register("gd")
class GD(Algorithm):
    """Gradient descent (Landweber 1951) on the least-squares data term:

        x_{t+1} = x_t − α_t Aᴴ(A x_t − y),     x_0 = 0

    The default step ``α = 1/L`` with ``L = ‖A‖²`` converges for any ``A`` (any α < 2/L does).

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    step = Param("1/L", positive=True, doc="step size α")

    def init(self, y: Tensor, A: Any) -> GDState:
        Aty = A.H(y)
        return GDState(torch.zeros_like(Aty), Aty)

    def update(self, state: GDState, y: Tensor, A: Any, p: Layer) -> GDState:
        x, Aty = state
        return GDState(x - p.step * data_gradient(x, Aty, A, p), Aty)
