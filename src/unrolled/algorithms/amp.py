"""AMP: approximate message passing for sparse recovery."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, register
from ..priors import soft_threshold


class AMPState(NamedTuple):
    x: Tensor  # (B, *in_shape) the estimate
    z: Tensor  # (B, *out_shape) the Onsager-corrected residual


def _per_sample(v: Tensor, like: Tensor) -> Tensor:
    """Reshape a per-sample ``(B,)`` tensor to broadcast against ``like`` (B, ...)."""
    return v.view(-1, *[1] * (like.ndim - 1))


@register("amp")
class AMP(Algorithm):
    """AMP with soft thresholding (Donoho, Maleki & Montanari 2009; Bayati & Montanari 2011):

        r_t     = x_t + Aᴴ z_t                     (back-projection: `backproject`)
        θ_t     = α σ̂_t,   σ̂_t = ‖z_t‖₂ / √m  (the RMS of the residual estimates the noise level)
        x_{t+1} = η(r_t; θ_t)                      (soft threshold)
        z_{t+1} = y − A x_{t+1} + (1/m) Σᵢ η'(r_t; θ_t)ᵢ · z_t,     x_0 = 0, z_0 = y

    The Onsager term's divergence Σ η' is the support size ‖x_{t+1}‖₀ for real signals and
    Σ_{|rᵢ|>θ} (1 − θ/(2|rᵢ|)) for complex ones (Maleki et al. 2013). AMP is derived for ``A``
    with i.i.d. entries of variance 1/m; Borgerding et al. (2017) use α = 1.1402.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    alpha = Param(1.1402, positive=True, doc="threshold multiplier α")

    def init(self, y: Tensor, A: Any) -> AMPState:
        return AMPState(torch.zeros_like(A.H(y)), y)

    def update(self, state: AMPState, y: Tensor, A: Any, p: Layer) -> AMPState:
        x, z = state
        m = z[0].numel()
        sigma = torch.linalg.vector_norm(z.flatten(1), dim=1) / m**0.5
        r = x + self.backproject(z, A, p)
        x, div = self.denoise(r, _per_sample(sigma, r), p)
        onsager = div.flatten(1).sum(1) / m
        return AMPState(x, y - A(x) + _per_sample(onsager, z) * z)

    def denoise(self, r: Tensor, sigma: Tensor, p: Layer) -> tuple[Tensor, Tensor]:
        """``η(r; σ)`` and its derivative ``η'`` entrywise (summed for the Onsager term): the soft
        threshold at ``θ = α σ``.

        ``r`` is ``(B, *A.in_shape)``; ``sigma``, the estimated noise level of ``r``, broadcasts
        against it (``(B, 1, ...)``). A subclass may use another denoiser (LAMP's Bernoulli-
        Gaussian MMSE estimator, `unrolled.models.lamp`).
        """
        theta = p.alpha * sigma
        x = soft_threshold(r, theta)
        if r.is_complex():
            mag = r.abs()
            div = torch.where(
                mag > theta, 1 - theta / (2 * mag.clamp_min(torch.finfo(mag.dtype).tiny)), 0.0
            )
        else:
            div = (x != 0).to(r.dtype)
        return x, div

    def backproject(self, z: Tensor, A: Any, p: Layer) -> Tensor:
        """The back-projection of the residual, ``Aᴴz``: ``(B, *A.out_shape) -> (B, *A.in_shape)``.

        A subclass may learn it (LAMP, `unrolled.models.lamp`, uses a matrix ``B_t`` per layer).
        """
        return A.H(z)
