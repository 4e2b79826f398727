"""Pieces of iterations that several algorithms share."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..core import Layer


def data_gradient(x: Tensor, Aty: Tensor, A: Any, p: Layer) -> Tensor:
    """``Aᴴ(A x − y) = AᴴA x − Aᴴy`` at layer ``p.layer``, for iterations that start at
    ``x_0 = 0`` (ISTA, FISTA, gradient descent): at the first layer it is ``−Aᴴy``, without
    the product (1/K of a K-layer network's products, forward and backward; LISTA's first layer
    is ``η(W y)`` for the same reason). Shapes: ``x``, ``Aty`` (B, *A.in_shape)."""
    return -Aty if p.layer == 0 else A.normal_residual(x, Aty)
