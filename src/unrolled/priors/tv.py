"""`TV`: isotropic total variation and its proximal map by a fixed number of dual iterations."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

from ..core import register
from ..core.checks import positive_int
from ..ops.gradient import divergence, gradient, pixel_norm, project_ball
from .basic import Prior, _check_tau


@register("tv", kind="prior")
class TV(Prior):
    """Isotropic total variation (Rudin, Osher & Fatemi 1992),
    ``TV(x) = Σ_pixels √(|∂_v x|² + |∂_h x|²)`` (forward differences, Neumann boundary; each
    channel on its own; the modulus for complex images).

    Its proximal map has no closed form: ``prior(v, τ)`` runs ``iterations`` steps of the fast
    gradient projection on the dual problem (Beck & Teboulle 2009, "FGP"; Chambolle 2004):

        x_k     = v + div q_k
        p_{k+1} = Π_{|·| ≤ τ}(q_k + ∇x_k / 8)
        q_{k+1} = p_{k+1} + (t_k − 1)/t_{k+1} (p_{k+1} − p_k),   t_{k+1} = (1 + √(1 + 4t_k²))/2

    and returns ``v + div p``. A fixed count keeps it a differentiable network block with no host
    sync (autograd runs through the iterations); more iterations, a more exact prox.

    Args:
        iterations: dual iterations per prox (default 50).

    Shapes: ``v`` ``(B, [C,] H, W)`` (or ``(B, n)``: the 1-D total variation), real or complex; ``tau`` a number ≥ 0 or a tensor
    broadcastable to ``v``.
    """

    def __init__(self, iterations: int = 50) -> None:
        super().__init__()
        self.iterations = positive_int(iterations, "iterations")

    def forward(self, v: Tensor, tau: float | Tensor) -> Tensor:
        _check_tau(tau)
        if v.ndim < 2:
            raise ValueError(
                f"v: expected images (B, [C,] H, W) or signals (B, n), got shape {tuple(v.shape)}"
            )
        if isinstance(tau, numbers.Real) and tau == 0:
            return v
        p = torch.zeros((v.shape[0], 2, *v.shape[1:]), dtype=v.dtype, device=v.device)
        q, t = p, 1.0
        # the dual field has an extra axis (the two directions) after the batch: a tensor τ,
        # first brought to v's rank (per-feature τ has none of v's leading axes), gets one too
        tau_p = tau
        if isinstance(tau, Tensor) and tau.ndim > 0:
            tau_p = tau.reshape((1,) * (v.ndim - tau.ndim) + tuple(tau.shape)).unsqueeze(1)
        for _ in range(self.iterations):
            x = v + divergence(q[:, 0], q[:, 1])
            step = q + gradient(x) / 8
            p_new = project_ball(step, tau_p)
            t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
            q = p_new + ((t - 1) / t_new) * (p_new - p)
            p, t = p_new, t_new
        return v + divergence(p[:, 0], p[:, 1])

    def value(self, x: Tensor) -> Tensor:
        return pixel_norm(gradient(x)).flatten(1).sum(1)

    def extra_repr(self) -> str:
        return f"iterations={self.iterations}"


__all__ = ["TV"]
