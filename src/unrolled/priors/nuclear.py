"""The nuclear norm and its prox, singular-value thresholding, with a gradient that stays finite
at repeated singular values."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from .basic import Prior, _check_tau


def _divided(f: Tensor, s: Tensor, slope: Tensor) -> tuple[Tensor, Tensor]:
    """``D1_ij = (f_i − f_j)/(s_i − s_j)`` (``slope`` where ``s_i = s_j``) and
    ``D2_ij = (f_i + f_j)/(s_i + s_j)`` (0 where both are 0), each ``(..., k, k)``."""
    ds = s[..., :, None] - s[..., None, :]
    tiny = torch.finfo(s.dtype).eps * s.amax(-1, keepdim=True)[..., None].clamp_min(1)
    close = ds.abs() <= tiny
    d1 = torch.where(
        close,
        0.5 * (slope[..., :, None] + slope[..., None, :]),
        (f[..., :, None] - f[..., None, :]) / torch.where(close, torch.ones_like(ds), ds),
    )
    ss = s[..., :, None] + s[..., None, :]
    zero = ss <= tiny
    d2 = torch.where(
        zero, torch.zeros_like(ss), (f[..., :, None] + f[..., None, :]) / ss.clamp_min(tiny)
    )
    return d1, d2


class _SVT(torch.autograd.Function):
    """SVT of a real wide-or-square matrix with the spectral-function derivative (Lewis &
    Sendov 2005; for SVT, Candès, Sing-Long & Trzasko 2013): for ``X = U diag(s) Vᵀ`` (thin,
    ``m ≤ n``) and ``F = U diag(f(s)) Vᵀ``, ``f(s) = max(s − τ, 0)``, the gradient of ``G``
    is ``U (D1 ∘ sym(Uᵀ G V) + D2 ∘ skew(Uᵀ G V)) Vᵀ + U diag(f/s) Uᵀ G (I − V Vᵀ)``, whose
    divided differences `_divided` have finite limits where PyTorch's SVD gradient divides by
    zero (repeated or zero singular values)."""

    @staticmethod
    def forward(X: Tensor, tau: Tensor) -> Tensor:
        U, s, Vh = torch.linalg.svd(_full(X), full_matrices=False)
        return (U * torch.relu(s - tau)[..., None, :]) @ Vh

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        X, tau = inputs
        U, s, Vh = torch.linalg.svd(_full(X.detach()), full_matrices=False)
        ctx.save_for_backward(U, s, Vh, tau)
        ctx.tau_shape = tau.shape
        ctx.x_dtype = X.dtype

    @staticmethod
    def backward(ctx, G: Tensor) -> tuple[Tensor, Tensor]:
        U, s, Vh, tau = ctx.saved_tensors
        G = G.to(U.dtype)
        V = Vh.mT
        f = torch.relu(s - tau)
        slope = (s > tau).to(s.dtype)
        d1, d2 = _divided(f, s, slope)
        core = U.mT @ G @ V  # (..., k, k)
        sym, skew = 0.5 * (core + core.mT), 0.5 * (core - core.mT)
        gX = U @ (d1 * sym + d2 * skew) @ Vh
        ratio = torch.where(s > 0, f / s.clamp_min(torch.finfo(s.dtype).tiny), slope * 0)
        outside = G - (G @ V) @ Vh  # G (I − V Vᵀ)
        gX = gX + (U * ratio[..., None, :]) @ (U.mT @ outside)
        # ∂F/∂τ = −U diag(1[s > τ]) Vᵀ
        gtau = -(slope * torch.diagonal(core, dim1=-2, dim2=-1))
        gtau = gtau.sum_to_size(ctx.tau_shape) if ctx.tau_shape else gtau.sum()
        return gX.to(ctx.x_dtype), gtau


def _full(X: Tensor) -> Tensor:
    """``X`` in at least fp32: an SVD needs it (under bf16/fp16 autocast the input comes in
    reduced precision; the threshold's output stays fp32)."""
    return X.float() if X.dtype in (torch.bfloat16, torch.float16) else X


def singular_value_threshold(X: Tensor, tau: float | Tensor) -> Tensor:
    """``U diag(max(s − τ, 0)) Vᴴ`` for ``X = U diag(s) Vᴴ``: the prox of ``τ‖·‖_*`` (Cai,
    Candès & Shen 2010), over the last two dimensions.

    Args:
        X: ``(..., m, n)``, real or complex.
        tau: ≥ 0, a number or a tensor broadcastable to the singular values
            ``(..., min(m, n))`` (``(B, 1)``: one threshold per matrix).

    Real matrices get the closed-form derivative of `_SVT`, finite at repeated singular
    values; complex ones PyTorch's SVD gradient (undefined there).
    """
    _check_tau(tau)
    if X.ndim < 2:
        raise ValueError(f"X: expected matrices (..., m, n), got shape {tuple(X.shape)}")
    tau = torch.as_tensor(tau, dtype=X.real.dtype, device=X.device)
    if X.is_complex():
        U, s, Vh = torch.linalg.svd(X, full_matrices=False)
        return (U * torch.relu(s - tau)[..., None, :].to(X.dtype)) @ Vh
    if X.shape[-2] > X.shape[-1]:  # the derivative is written for wide matrices
        return _SVT.apply(X.mT, tau).mT
    return _SVT.apply(X, tau)


@register("nuclear", kind="prior")
class NuclearNorm(Prior):
    """``R(X) = ‖X‖_* = Σ_i s_i(X)``, the convex surrogate of rank; its prox is
    `singular_value_threshold`. ``v`` ``(B, m, n)``: one matrix per sample."""

    def forward(self, v: Tensor, tau: float | Tensor) -> Tensor:
        return singular_value_threshold(v, tau)

    def value(self, x: Tensor) -> Tensor:
        return torch.linalg.svdvals(x).sum(-1).reshape(x.shape[0], -1).sum(-1)


__all__ = ["NuclearNorm", "singular_value_threshold"]
