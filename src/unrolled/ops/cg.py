"""Batched conjugate gradient for Hermitian positive-definite systems, and `cg_solve`, the
differentiable solve whose backward pass solves the adjoint system instead of storing every
CG iterate (memory constant in the number of steps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

Apply = Callable[[Tensor], Tensor]


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample real inner product Re⟨a, b⟩, shaped to broadcast against a: (B, 1, ..., 1)."""
    d = (a.conj() * b).real if a.is_complex() else a * b
    return d.flatten(1).sum(1).view(-1, *[1] * (a.ndim - 1))


class CGState(NamedTuple):
    x: Tensor  # (B, *shape) the iterate
    r: Tensor  # (B, *shape) the residual b − M x
    p: Tensor  # (B, *shape) the search direction
    rr: Tensor  # (B, 1, ..., 1) ‖r‖² per sample


def cg_start(apply: Apply, b: Tensor, x0: Tensor | None = None) -> CGState:
    """The state before the first CG step (``x0`` default zero)."""
    x = torch.zeros_like(b) if x0 is None else x0
    r = b - apply(x) if x0 is not None else b
    return CGState(x, r, r, _dot(r, r))


def cg_step(apply: Apply, state: CGState) -> CGState:
    """One conjugate-gradient step (Hestenes & Stiefel 1952), per sample:

        α = ‖r‖² / ⟨p, M p⟩,  x ← x + α p,  r ← r − α M p,  β = ‖r_new‖² / ‖r‖²,  p ← r + β p

    A sample whose residual is exactly zero stops moving instead of dividing by zero."""
    x, r, p, rr = state
    tiny = torch.finfo(rr.dtype).tiny
    Mp = apply(p)
    pMp = _dot(p, Mp)
    alpha = torch.where(pMp > tiny, rr / pMp.clamp_min(tiny), 0.0)
    x = x + alpha * p
    r = r - alpha * Mp
    rr_new = _dot(r, r)
    beta = torch.where(rr > tiny, rr_new / rr.clamp_min(tiny), 0.0)
    return CGState(x, r, r + beta * p, rr_new)


def conjugate_gradient(
    apply: Apply, b: Tensor, iterations: int, x0: Tensor | None = None
) -> Tensor:
    """Solve ``M x = b`` for Hermitian positive-definite ``M`` by ``iterations`` CG steps.

    A fixed number of steps and no host synchronisation, so it can sit inside a network layer.
    Autograd runs through every step (memory grows with ``iterations``); `cg_solve` does not.

    Args:
        apply: ``v -> M v`` on ``(B, *shape)`` tensors.
        b: right-hand side, ``(B, *shape)``, real or complex.
        iterations: number of CG steps.
        x0: starting point (default zero).

    Returns:
        ``x``, ``(B, *shape)``.
    """
    state = cg_start(apply, b, x0)
    for _ in range(iterations):
        state = cg_step(apply, state)
    return state.x


class _InverseGradient(torch.autograd.Function):
    """``z -> 0`` in the forward pass, ``g -> M⁻¹ g`` (by CG) in the backward pass."""

    @staticmethod
    def forward(ctx, z: Tensor, apply: Apply, iterations: int) -> Tensor:  # type: ignore[override]
        ctx.normal, ctx.iterations = apply, iterations  # not ctx.apply: the node has one
        return torch.zeros_like(z)

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        with torch.no_grad():
            return conjugate_gradient(ctx.normal, g, ctx.iterations), None, None


def cg_solve(
    apply: Apply,
    b: Tensor,
    iterations: int,
    x0: Tensor | None = None,
    backward_iterations: int | None = None,
) -> Tensor:
    """``x = M⁻¹ b`` by CG, differentiable with constant memory in ``iterations``.

    The forward pass runs CG without recording a graph. The backward pass uses the implicit
    function theorem: with ``M x = b``, ``∂L/∂b = M⁻¹ ∂L/∂x`` (``M`` Hermitian, one more CG solve)
    and the parameters θ of ``M`` get ``−(∂(M_θ x)/∂θ)ᴴ M⁻¹ ∂L/∂x``, through one recorded
    application of ``apply`` at the solution. What backward keeps is one application's graph,
    whatever ``iterations`` is (MoDL's and the deep-equilibrium networks' trick).

    Args:
        apply: ``v -> M v``, Hermitian positive definite, built from tensors that may require
            gradients (a learned penalty, say).
        b: ``(B, *shape)``.
        iterations: CG steps of the forward solve.
        x0: the forward solve's starting point (a warm start; no gradient flows into it).
        backward_iterations: CG steps of the backward solve (default ``iterations``).

    Returns:
        ``x``, ``(B, *shape)``. Its gradients are those of the exact solve ``M⁻¹ b``, computed to
        the accuracy of the backward CG.
    """
    with torch.no_grad():
        x = conjugate_gradient(apply, b, iterations, None if x0 is None else x0.detach())
    if not torch.is_grad_enabled():
        return x
    residual = b - apply(x)  # ≈ 0; its graph carries b and M's parameters
    steps = iterations if backward_iterations is None else backward_iterations
    return x + _InverseGradient.apply(residual, apply, steps)


__all__ = ["CGState", "cg_solve", "cg_start", "cg_step", "conjugate_gradient"]
