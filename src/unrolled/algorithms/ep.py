"""EP: expectation propagation for MIMO detection (Céspedes et al. 2014)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..comms.channel import complex_vector, real_equivalent, real_vector
from ..comms.constellation import Constellation
from ..comms.posterior import discrete_posterior
from ..core import Algorithm, Layer, Param, Slot, register
from .oamp import constellation_of, noise_var_of


class EPState(NamedTuple):
    x: Tensor  # (B, n) the estimate: the posterior means of the last moment matching
    gamma: Tensor  # (B, N) γ, the sites' precision-weighted means (N real dimensions)
    precision: Tensor  # (B, N) Λ, the sites' precisions
    mean: Tensor  # (B, N) μ, the mean of the Gaussian approximation q(x)
    variance: Tensor  # (B, N) diag Σ, its marginal variances
    gram: Tensor  # (B, N, N) HᵀH/σ², computed once
    matched: Tensor  # (B, N) Hᵀy/σ², computed once


def gaussian_approximation(
    gram: Tensor, matched: Tensor, precision: Tensor, gamma: Tensor
) -> tuple[Tensor, Tensor]:
    """The mean ``μ = Σ (Hᵀy/σ² + γ)`` and marginal variances ``diag Σ`` of
    ``q(x) ∝ N(y; Hx, σ²I) Π_i exp(−Λ_i x_i²/2 + γ_i x_i)``, ``Σ = (HᵀH/σ² + diag Λ)⁻¹``, by one
    Cholesky factorisation per sample. ``(B, N, N)``, ``(B, N)`` × 3 -> ``(B, N)``, ``(B, N)``."""
    P = gram + torch.diag_embed(precision)
    # Cholesky reads one triangle: symmetrised, every entry of the gram gets its gradient
    L = torch.linalg.cholesky((P + P.mT) / 2)
    covariance = torch.cholesky_inverse(L)
    mean = (covariance @ (matched + gamma).unsqueeze(-1)).squeeze(-1)
    return mean, torch.diagonal(covariance, dim1=-2, dim2=-1)


def keep_cavity(t: Tensor, h2: Tensor) -> tuple[Tensor, Tensor]:
    """The classical ``correct_cavity`` slot: the cavity as it is."""
    return t, h2


@register("ep")
class EP(Algorithm):
    """Expectation propagation for MIMO detection (Céspedes, Olmos, Sánchez-Fernández &
    Pérez-Cruz 2014, "Expectation propagation detection for high-order high-dimensional MIMO
    systems", IEEE Trans. Commun.), for ``y = Hx + w``, ``x`` on a square constellation, in the
    real-valued equivalent (a complex channel's 2n real dimensions). The prior of each real
    dimension is approximated by a Gaussian site ``exp(−Λ_i x_i²/2 + γ_i x_i)``, one precision
    per stream (where OAMP keeps one error variance for all), and an iteration refines them:

        Σ = (HᵀH/σ² + diag Λ)⁻¹,   μ = Σ (Hᵀy/σ² + γ)             (the Gaussian approximation)
        h_i² = c · Σ_ii / (1 − Σ_ii Λ_i),   t_i = h_i² (μ_i / Σ_ii − γ_i)        (the cavity)
        μ̂_i, σ̂_i² = E, Var[x_i | t_i, h_i²] under the constellation,  σ̂_i² ← max(σ̂_i², ε)
        Λ_i ← β (1/σ̂_i² − 1/h_i²) + (1 − β) Λ_i,   γ_i ← β (μ̂_i/σ̂_i² − t_i/h_i²) + (1 − β) γ_i

    from ``Λ = 1/E_s`` (the prior's variance per real dimension) and ``γ = 0``; a dimension whose
    new precision would be negative keeps its old site (the paper's rule). The estimate ``x``
    is the moment-matched means ``μ̂``; ``x_0`` is the LMMSE estimate ``μ`` at the start.

    Params: ``damping`` β (0.2, the paper's: the weight of the new site), ``cavity_scale`` c (1:
    EP; the learned detectors scale the cavity variances per layer). Slot:
    ``correct_cavity(t, h²) -> (t, h²)``, applied to the cavity before the moment matching;
    classically the identity (a learned detector corrects what the Gaussian approximation gets
    wrong).

    Args:
        constellation: a `Constellation` or its name (its per-dimension levels are the prior).
        min_variance: ε, the floor of the moment-matched variances (the paper's 5·10⁻⁷).

    Shapes: ``y`` ``(B, m)``, ``A`` a `unrolled.comms.Channel` (``H`` ``(B, m, n)``, real or
    complex, with its noise variance), ``x`` ``(B, n)``.
    """

    damping = Param(0.2, between=(0.0, 1.0), doc="β, the weight of the new site")
    cavity_scale = Param(1.0, positive=True, doc="c, the scale of the cavity variances")
    correct_cavity = Slot(keep_cavity, doc="correct_cavity(t, h²) -> (t, h²), before matching")

    def __init__(
        self,
        constellation: Constellation | str = "qpsk",
        min_variance: float = 5e-7,
        **overrides: Any,
    ) -> None:
        super().__init__(**overrides)
        self.constellation = constellation_of(constellation)
        if not min_variance > 0:
            raise ValueError(f"min_variance: expected a positive floor, got {min_variance!r}")
        self.min_variance = float(min_variance)

    def init(self, y: Tensor, A: Any) -> EPState:
        H, sigma2 = A.M, noise_var_of(A, "EP")
        if H.is_complex():
            H, y, sigma2 = real_equivalent(H), real_vector(y), sigma2 / 2
        gram = H.mT @ H / sigma2[:, None, None]
        matched = (H.mT @ y.unsqueeze(-1)).squeeze(-1) / sigma2[:, None]
        levels = self.constellation.pam.to(y.device, y.dtype)
        precision = torch.ones_like(matched) / levels.square().mean()
        gamma = torch.zeros_like(matched)
        mean, variance = gaussian_approximation(gram, matched, precision, gamma)
        return EPState(self._estimate(mean, A), gamma, precision, mean, variance, gram, matched)

    def update(self, state: EPState, y: Tensor, A: Any, p: Layer) -> EPState:
        _, gamma, precision, mean, variance, gram, matched = state
        tiny = torch.finfo(mean.dtype).tiny
        h2 = p.cavity_scale * variance / (1 - variance * precision).clamp_min(tiny)
        t = h2 * (mean / variance - gamma)
        t, h2 = p.correct_cavity(t, h2)
        levels = self.constellation.pam.to(mean.device, mean.dtype)
        matched_mean, matched_var = discrete_posterior(t, h2, levels)
        matched_var = matched_var.clamp_min(self.min_variance)
        new_precision = 1 / matched_var - 1 / h2
        new_gamma = matched_mean / matched_var - t / h2
        keep = new_precision < 0
        new_precision = torch.where(keep, precision, new_precision)
        new_gamma = torch.where(keep, gamma, new_gamma)
        precision = p.damping * new_precision + (1 - p.damping) * precision
        gamma = p.damping * new_gamma + (1 - p.damping) * gamma
        mean, variance = gaussian_approximation(gram, matched, precision, gamma)
        return EPState(
            self._estimate(matched_mean, A), gamma, precision, mean, variance, gram, matched
        )

    @staticmethod
    def _estimate(real: Tensor, A: Any) -> Tensor:
        """``(B, N)`` real dimensions as the channel's symbols: complex for a complex one."""
        return complex_vector(real) if A.M.is_complex() else real


__all__ = ["EP", "EPState", "gaussian_approximation"]
