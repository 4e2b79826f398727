"""AMP for MIMO detection, with the constellation's posterior mean as its denoiser."""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor

from ..comms.constellation import Constellation
from ..core import Algorithm, Layer, Param, register
from .oamp import constellation_of, posterior


class MIMOAMPState(NamedTuple):
    x: Tensor  # (B, n) the soft estimate
    z: Tensor  # (B, m) the Onsager-corrected residual (of the column-normalised system)
    scale: Tensor  # (B, 1) s, the RMS column norm of H, computed once


@register("mimo-amp")
class MIMOAMP(Algorithm):
    """AMP with the Bayes-optimal denoiser of a discrete constellation (Jeon et al. 2015, "LAMA"),
    on the column-normalised system ``y/s = (H/s) x + n/s``, ``s² = tr(HᴴH)/n``, so that
    ``A = H/s`` has columns of unit norm on average (AMP's scaling):

        r_t     = x̂_t + Aᴴ z_t
        τ_t²    = ‖z_t‖² / m                               (effective noise variance of r_t)
        x̂_{t+1} = E[x | r_t, τ_t²],   v_{t+1} = mean of Var[x | r_t, τ_t²]
        z_{t+1} = y/s − A x̂_{t+1} + α (n/m) (v_{t+1}/τ_t²) z_t,   x̂_0 = 0, z_0 = y/s

    The Onsager term is (n/m)·⟨η'⟩ z with ⟨η'⟩ = v/τ² for the posterior-mean denoiser; ``α``
    (default 1) scales it. AMP is derived for large i.i.d. channels; on small or correlated
    ones it can diverge (OAMP, `OAMP`, is the remedy). It needs no noise variance.

    Args:
        constellation: a `Constellation` or its name.

    Shapes: ``y`` ``(B, m)``, ``H`` ``(B, m, n)`` (any batched `Matrix`), ``x`` ``(B, n)``.
    """

    alpha = Param(1.0, doc="α, the scale of the Onsager term")

    def __init__(self, constellation: Constellation | str = "qpsk", **overrides: Any) -> None:
        super().__init__(**overrides)
        self.constellation = constellation_of(constellation)

    def init(self, y: Tensor, A: Any) -> MIMOAMPState:
        H = A.M
        n = H.shape[-1]
        if H.ndim == 2:
            s = H.abs().square().sum().div(n).sqrt().expand(y.shape[0], 1)
        else:
            s = H.abs().square().sum((-2, -1)).div(n).sqrt()[:, None]
        s = s.to(y.real.dtype)
        return MIMOAMPState(y.new_zeros(y.shape[0], n), y / s, s)

    def update(self, state: MIMOAMPState, y: Tensor, A: Any, p: Layer) -> MIMOAMPState:
        x, z, s = state
        m, n = y.shape[-1], x.shape[-1]
        r = x + A.H(z) / s
        tau2 = z.abs().square().sum(-1, keepdim=True) / m
        x_new, var = posterior(r, tau2, self.constellation.pam)
        onsager = (
            p.alpha * (n / m) * var.mean(-1, keepdim=True) / tau2.clamp_min(tau2.new_tensor(1e-30))
        )
        z = y / s - A(x_new) / s + onsager * z
        return MIMOAMPState(x_new, z, s)
