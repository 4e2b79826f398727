"""OAMP: orthogonal approximate message passing for MIMO detection."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..comms.constellation import Constellation
from ..comms.posterior import discrete_posterior
from ..core import Algorithm, Layer, Param, register


class OAMPState(NamedTuple):
    x: Tensor  # (B, n) the soft estimate
    HHh: Tensor  # (B, m, m) HHᴴ, computed once
    trace: Tensor  # (B,) tr(HᴴH), computed once


def noise_var_of(A: Any, name: str) -> Tensor:
    """The per-sample noise variance a MIMO detector needs, from a `unrolled.comms.Channel`."""
    nv = getattr(A, "noise_var", None)
    if nv is None:
        raise TypeError(
            f"A: {name} needs the noise variance of each sample; pass a unrolled.comms.Channel "
            f"(H with noise_var), got {type(A).__name__}"
        )
    return nv


def constellation_of(constellation: Constellation | str) -> Constellation:
    return (
        constellation if isinstance(constellation, Constellation) else Constellation(constellation)
    )


def posterior(r: Tensor, tau2: Tensor, levels: Tensor) -> tuple[Tensor, Tensor]:
    """``E[x | r]`` and the mean posterior variance per entry for ``r = x + w``, ``w`` circular
    with variance ``τ²`` per entry (``τ²/2`` per real dimension when complex), each real
    dimension of ``x`` uniform on ``levels``. ``r`` ``(B, n)``, ``τ²`` ``(B, 1)``; returns
    ``(B, n)`` and ``(B, n)``."""
    if r.is_complex():
        (mr, vr), (mi, vi) = (
            discrete_posterior(part, tau2 / 2, levels) for part in (r.real, r.imag)
        )
        return torch.complex(mr, mi), vr + vi
    return discrete_posterior(r, tau2, levels)


@register("oamp")
class OAMP(Algorithm):
    """OAMP for MIMO detection (Ma & Ping 2017; the form He et al. 2018/2020 unroll as
    OAMP-Net and OAMP-Net2), for ``y = Hx + n``, ``x`` on a square constellation:

        v_t²    = max((‖y − Hx̂_t‖² − m σ²) / tr(HᴴH), ε)          (error variance of x̂_t)
        Ŵ_t     = v_t² Hᴴ (v_t² HHᴴ + σ² I)⁻¹,   W_t = (n / tr(Ŵ_t H)) Ŵ_t   (de-correlated LMMSE)
        r_t     = x̂_t + γ_t W_t (y − Hx̂_t)
        B_t     = I − θ_t W_t H,   τ_t² = (tr(B_t B_tᴴ) v_t² + θ_t² tr(W_t W_tᴴ) σ²) / n
        x̂_{t+1} = φ_t (E[x | r_t, τ_t²] − ξ_t r_t),   x̂_0 = 0

    ``E[x | r, τ²]`` is the posterior mean of the constellation through Gaussian noise of
    variance τ² per entry (`posterior`). With ``γ = θ = φ = 1`` and ``ξ = 0`` (the defaults)
    this is OAMP; OAMP-Net learns γ_t, θ_t, OAMP-Net2 all four (`unrolled.models.oamp_net2`).

    Complex native: σ² and v², τ² are variances per complex entry; a real system (BPSK) uses
    real ``H`` and ``y``. ``A`` must carry the noise variance (`unrolled.comms.Channel`).

    Args:
        constellation: a `Constellation` or its name (its per-dimension levels are the prior).

    Shapes: ``y`` ``(B, m)``, ``H`` ``(B, m, n)``, ``x`` ``(B, n)``.
    """

    gamma = Param(1.0, doc="γ, the step of the linear estimator")
    theta = Param(1.0, doc="θ, the scale of W in the variance estimate τ²")
    phi = Param(1.0, doc="φ, the scale of the nonlinear estimate")
    xi = Param(0.0, doc="ξ, the fraction of r subtracted from the posterior mean")

    def __init__(self, constellation: Constellation | str = "qpsk", **overrides: Any) -> None:
        super().__init__(**overrides)
        self.constellation = constellation_of(constellation)

    def init(self, y: Tensor, A: Any) -> OAMPState:
        H = A.M
        noise_var_of(A, "OAMP")
        x = y.new_zeros(y.shape[0], H.shape[-1])
        return OAMPState(x, H @ H.mH, H.abs().square().sum((-2, -1)))

    def update(self, state: OAMPState, y: Tensor, A: Any, p: Layer) -> OAMPState:
        x, HHh, trace = state
        H, sigma2 = A.M, noise_var_of(A, "OAMP")
        m, n = H.shape[-2:]
        residual = y - A(x)
        eps = torch.finfo(trace.dtype).eps
        v2 = ((residual.abs().square().sum(-1) - m * sigma2) / trace).clamp_min(eps)
        eye = torch.eye(m, dtype=H.dtype, device=H.device)
        C = v2[:, None, None] * HHh + sigma2[:, None, None] * eye
        W_hat = v2[:, None, None] * torch.linalg.solve(C, H).mH  # (B, n, m); C is Hermitian
        WH = W_hat @ H
        scale = n / torch.diagonal(WH, dim1=-2, dim2=-1).sum(-1).real
        W, WH = scale[:, None, None] * W_hat, scale[:, None, None] * WH
        r = x + p.gamma * (W @ residual.unsqueeze(-1)).squeeze(-1)
        Bt = torch.eye(n, dtype=H.dtype, device=H.device) - p.theta * WH
        tau2 = (
            Bt.abs().square().sum((-2, -1)) * v2
            + p.theta**2 * W.abs().square().sum((-2, -1)) * sigma2
        ) / n
        mean, _ = posterior(r, tau2[:, None], self.constellation.pam)
        return OAMPState(p.phi * (mean - p.xi * r), HHh, trace)
