"""SBL: sparse Bayesian learning by expectation-maximisation."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..ops.matrix import Matrix


class SBLState(NamedTuple):
    x: Tensor  # (B, n) the posterior mean μ under the previous variances
    gamma: Tensor  # (B, n) the prior variances γ, real, ≥ 0


def gaussian_posterior(
    y: Tensor, A: Matrix, gamma: Tensor, noise: float | Tensor
) -> tuple[Tensor, Tensor]:
    """The E-step: the Gaussian posterior of ``x`` given ``y = A x + n``, ``x_i ~ N(0, γ_i)``,
    ``n ~ N(0, σ² I)``, through the m×m covariance of ``y`` (Woodbury, one Cholesky factor per
    sample):

        Σ_y = σ² I + A Γ Aᴴ,     μ = Γ Aᴴ Σ_y⁻¹ y,     Σ_ii = γ_i − γ_i² (Aᴴ Σ_y⁻¹ A)_ii

    Returns ``(μ, diag Σ)``, ``(B, n)`` each (``diag Σ`` real), in ``y``'s precision. The
    algebra runs in double precision: with a coherent dictionary and a small σ², ``Σ_y`` is too
    ill-conditioned for a float32 Cholesky factor (it breaks down into NaN). Shapes: ``y``
    (B, m), ``gamma`` (B, n), ``A.M`` (m, n) or (B, m, n)."""
    out, real = y.dtype, gamma.dtype
    wide = torch.complex128 if A.M.is_complex() or y.is_complex() else torch.float64
    y, gamma, M = y.to(wide), gamma.to(torch.float64), A.M.to(wide)
    noise = noise.to(torch.float64) if isinstance(noise, Tensor) else noise
    Mh = M.mH
    scaled = M * gamma.to(M.dtype).unsqueeze(-2)  # A Γ: (B, m, n)
    cov = scaled @ Mh
    cov = cov + noise * torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    L = torch.linalg.cholesky_ex(cov).L  # no error check: that would sync a GPU
    u = torch.cholesky_solve(y.unsqueeze(-1), L)  # Σ_y⁻¹ y: (B, m, 1)
    mu = gamma.to(M.dtype) * (Mh @ u).squeeze(-1)
    W = torch.cholesky_solve(M.expand(*cov.shape[:-2], *M.shape[-2:]), L)  # Σ_y⁻¹ A
    d = (M.conj() * W).sum(-2).real
    return mu.to(out), (gamma - gamma.square() * d).to(real)


def squared_magnitude(mu: Tensor) -> Tensor:
    """``|μ|²``, real, without a square root (whose gradient at 0 is undefined)."""
    return mu.real.square() + mu.imag.square() if mu.is_complex() else mu.square()


def em_variances(mu: Tensor, var: Tensor, gamma: Tensor) -> Tensor:
    """The M-step: ``γ_new = |μ|² + Σ_ii``, the posterior second moment of each coefficient.
    ``Σ_ii ≥ 0`` in exact arithmetic; its rounding below 0 (where ``γ_i (Aᴴ Σ_y⁻¹ A)_ii ≈ 1``)
    is taken as 0, so ``Σ_y`` stays positive definite. Shapes: (B, n) each."""
    return squared_magnitude(mu) + var.clamp_min(0)


@register("sbl")
class SBL(Algorithm):
    """Sparse Bayesian learning (Tipping 2001; Wipf & Rao 2004) by expectation-maximisation, for
    ``y = A x + n`` with an explicit matrix ``A`` (`unrolled.Matrix`): each coefficient has its
    own Gaussian prior ``x_i ~ N(0, γ_i)`` and EM learns the variances, most of which go to 0:

        μ_t, Σ_t = posterior(y, A, γ_t, σ²)       (E-step: `gaussian_posterior`)
        γ_{t+1}  = |μ_t|² + diag Σ_t              (M-step: `em_variances`)
        x_t      = μ_t,                           γ_0 = 1

    SBL recovers sparse vectors where ℓ1 methods fail, on highly correlated dictionaries (Wipf &
    Rao 2004); He, Xin, Ikehata & Wipf (2017) unroll it with learned maps of γ in place of the
    M-step.

    Params: ``noise`` σ² > 0, the noise variance (default 10⁻²; set it to the data's). Slots:
    ``posterior(y, A, gamma, noise) -> (mu, var)``, ``mstep(mu, var, gamma) -> gamma_new`` (a
    learned map of the variances stands in; it must return γ ≥ 0).

    Shapes: ``y`` (B, m), ``x`` (B, n), real or complex; ``γ`` (B, n) real.
    """

    noise = Param(1e-2, positive=True, doc="σ², the noise variance")
    posterior = Slot(
        gaussian_posterior, doc="posterior(y, A, gamma, noise) -> (mu, var), the E-step"
    )
    mstep = Slot(em_variances, doc="mstep(mu, var, gamma) -> gamma_new >= 0, the M-step")

    def init(self, y: Tensor, A: Any) -> SBLState:
        if not isinstance(A, Matrix):
            raise TypeError(
                f"A: SBL needs an explicit matrix (unrolled.Matrix) for its m×m posterior "
                f"covariance, got {type(A).__name__}"
            )
        n = A.in_shape[0]
        x = y.new_zeros(y.shape[0], n)
        return SBLState(x, torch.ones_like(x.real))

    def update(self, state: SBLState, y: Tensor, A: Any, p: Layer) -> SBLState:
        mu, var = p.posterior(y, A, state.gamma, p.noise)
        return SBLState(mu, p.mstep(mu, var, state.gamma))
