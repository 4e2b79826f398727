"""Batched conjugate gradient for Hermitian positive-definite systems."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample real inner product Re⟨a, b⟩, shaped to broadcast against a: (B, 1, ..., 1)."""
    d = (a.conj() * b).real if a.is_complex() else a * b
    return d.flatten(1).sum(1).view(-1, *[1] * (a.ndim - 1))


def conjugate_gradient(
    apply: Callable[[Tensor], Tensor], b: Tensor, iterations: int, x0: Tensor | None = None
) -> Tensor:
    """Solve ``M x = b`` for Hermitian positive-definite ``M`` by ``iterations`` CG steps.

    A fixed number of steps and no host synchronisation, so it can sit inside a network layer;
    a sample whose residual reaches exactly zero stops moving instead of dividing by zero.

    Args:
        apply: ``v -> M v`` on ``(B, *shape)`` tensors.
        b: right-hand side, ``(B, *shape)``, real or complex.
        iterations: number of CG steps.
        x0: starting point (default zero).

    Returns:
        ``x``, ``(B, *shape)``.
    """
    x = torch.zeros_like(b) if x0 is None else x0
    r = b - apply(x) if x0 is not None else b
    p = r
    rr = _dot(r, r)
    tiny = torch.finfo(rr.dtype).tiny
    for _ in range(iterations):
        Mp = apply(p)
        pMp = _dot(p, Mp)
        alpha = torch.where(pMp > tiny, rr / pMp.clamp_min(tiny), 0.0)
        x = x + alpha * p
        r = r - alpha * Mp
        rr_new = _dot(r, r)
        beta = torch.where(rr > tiny, rr_new / rr.clamp_min(tiny), 0.0)
        p = r + beta * p
        rr = rr_new
    return x
