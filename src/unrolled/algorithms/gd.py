"""Gradient descent on ½‖Ax − y‖² (Landweber iteration), with an optional regulariser step."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ._steps import gradient_step, start_slot, starting_point


class GDState(NamedTuple):
    x: Tensor  # (B, *in_shape) the iterate
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


def no_regulariser(x: Tensor) -> Tensor:
    """``R(x) = 0``: plain gradient descent on the data term (skipped, not computed)."""
    return torch.zeros_like(x)


@register("gd")
class GD(Algorithm):
    """Gradient descent (Landweber 1951) on ``½‖Ax − y‖² + r(x)``:

        x_{t+1} = x_t − α_t Aᴴ(A x_t − y) − R_t(x_t),     x_0 = start(y, A) = 0

    ``R`` is the regulariser's step (``α ∇r`` for a smooth r; a learned network in a
    variational network, Hammernik et al. 2018); the default ``R = 0`` is Landweber's
    iteration. The default step ``α = 1/L`` with ``L = ‖A‖²`` converges for any ``A`` (any
    α < 2/L does).

    Params: ``step`` α. Slots: ``regulariser(x) -> R(x)``, ``start(y, A) -> x_0``.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    step = Param("1/L", positive=True, doc="step size α")
    regulariser = Slot(no_regulariser, doc="regulariser(x) -> R(x), the regulariser's step")
    start = start_slot()

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> GDState:
        Aty = A.H(y)
        return GDState(starting_point(y, A, Aty, p, self.slots["start"].default), Aty)

    def update(self, state: GDState, y: Tensor, A: Any, p: Layer) -> GDState:
        x, Aty = state
        x_new = gradient_step(x, Aty, A, p)
        if p.regulariser is not no_regulariser:  # a static choice: Landweber skips R = 0
            x_new = x_new - p.regulariser(x)
        return GDState(x_new, Aty)
