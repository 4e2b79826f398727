"""Pieces of iterations that several algorithms share."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..core import Layer, Slot


def zero_start(y: Tensor, A: Any) -> Tensor:
    """``x_0 = 0``, ``(B, *A.in_shape)``: the classical start of the gradient methods."""
    return torch.zeros_like(A.H(y))


def adjoint_start(y: Tensor, A: Any) -> Tensor:
    """``x_0 = Aᴴy``, ``(B, *A.in_shape)`` (for A with orthonormal rows, the minimum-norm
    solution): the start of VarNet, MoDL and ISTA-Net."""
    return A.H(y)


def start_slot() -> Slot:
    """The ``start(y, A) -> x_0`` slot of an iteration on ``x``: the estimate at which layer 1
    starts, ``0`` unless given (`adjoint_start`, or a learned module such as ISTA-Net's Q_init)."""
    return Slot(zero_start, doc="start(y, A) -> x_0, the estimate at which layer 1 starts")


def starting_point(y: Tensor, A: Any, Aty: Tensor, p: Layer | None, default: Any) -> Tensor:
    """``x_0`` of ``init(y, A, p)``: ``p.start(y, A)``, or the algorithm's own start ``default``
    when no layer is given (``init(y, A)``); the zero start is built from ``Aᴴy`` without a
    second adjoint."""
    start = default if p is None else p.start
    return torch.zeros_like(Aty) if start is zero_start else start(y, A)


def gradient_step(x: Tensor, Aty: Tensor, A: Any, p: Layer) -> Tensor:
    """``x − α Aᴴ(A x − y) = x − α (AᴴA x − Aᴴy)`` with ``α = p.step``, at layer ``p.layer``.

    For an iteration that starts at ``x_0 = 0`` (ISTA, FISTA, gradient descent with their
    default ``start``), the first layer's is ``x_0 + α Aᴴy``, without the product (1/K of a K-layer
    network's products, forward and backward; LISTA's first layer is ``η(W y)`` for the same
    reason). Shapes: ``x``, ``Aty`` (B, *A.in_shape).
    """
    if p.layer == 0 and p.start is zero_start:
        return x + p.step * Aty
    return x - p.step * A.normal_residual(x, Aty)
