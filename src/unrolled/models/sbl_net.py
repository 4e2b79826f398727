"""SBL-Net: sparse Bayesian learning unrolled, with a learned map of the variances per layer."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..algorithms import SBL
from ..algorithms.sbl import em_variances, squared_magnitude
from ..core import register, unroll
from ..core.checks import positive_int
from ..ops.matrix import Matrix
from ._common import annealed_recipe, operator_sizes

#: softplus(SHIFT) = 1: the factor a zero output of the map gives.
SHIFT = math.log(math.e - 1)


class VarianceMap(nn.Module):
    """A learned M-step of SBL: the EM update of the variances scaled by a positive factor
    that a small network computes from each coefficient's statistics,

        γ_new = (|μ|² + Σ_ii) · softplus(f(log|μ|², log Σ_ii, log γ) + c),   softplus(c) = 1

    ``f`` acts on every coefficient alike (a per-coefficient MLP, ``hidden`` wide), its last
    layer starting at zero: the map starts as the EM update exactly, and it may learn to prune
    a variance faster (a factor towards 0) or keep one alive, as the gates of He et al.'s
    recurrent form do. The log-statistics make it independent of the data's scale.

    Called as `unrolled.algorithms.SBL`'s ``mstep(mu, var, gamma)``; shapes ``(B, n)``.
    """

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, mu: Tensor, var: Tensor, gamma: Tensor) -> Tensor:
        em = em_variances(mu, var, gamma)
        eps = 1e-12  # the floor of the log-statistics: far below any variance that matters
        power = squared_magnitude(mu)
        features = torch.stack(
            [torch.log(power + eps), torch.log(var.clamp_min(0) + eps), torch.log(gamma + eps)],
            dim=-1,
        ).to(self.net[0].weight.dtype)
        factor = F.softplus(self.net(features).squeeze(-1) + SHIFT)
        return em * factor.to(em.dtype)


class EMVariances(nn.Module):
    """SBL's own M-step (`unrolled.algorithms.sbl.em_variances`) as a module, for the last layer:
    its variances feed no posterior, so a learned map there would never get a gradient."""

    def forward(self, mu: Tensor, var: Tensor, gamma: Tensor) -> Tensor:
        return em_variances(mu, var, gamma)


#: The recipe (`unrolled.Recipe`): end to end on the NMSE at Adam 1e-3, annealed, batches of 64 (as the LISTA family's sparse-coding benchmark).
RECIPE = annealed_recipe(
    loss="nmse",
    lr=0.001,
    batch_size=64,
    notes="end to end on the NMSE at Adam 1e-3 annealed over the budget, batches of 64: this library's sparse-coding setting, not yet tuned for SBL-Net.",
)


@register("sbl-net", recipe=RECIPE)
def sbl_net(
    operator: Any = None,
    layers: int = 10,
    hidden: int = 16,
    noise: float = 1e-2,
    backprop: str = "full",
) -> Any:
    """SBL-Net: `unrolled.algorithms.SBL` (sparse Bayesian learning by EM; Wipf & Rao 2004)
    unrolled with a learned map of the variances in place of each layer's M-step (the idea of
    He, Xin, Ikehata & Wipf 2017, "From Bayesian sparsity to gated recurrent nets"):

        μ_k, Σ_k = posterior(y, A, γ_k, σ_k²),     γ_{k+1} = (|μ_k|² + diag Σ_k) · g_k(μ_k, Σ_k, γ_k)

    ``g_k`` a positive factor from a `VarianceMap` per layer (1 untrained; the last layer's is 1,
    `EMVariances`, as its variances feed no posterior) and the noise variance σ_k² learned per
    layer. Untrained, the network is SBL-EM for ``layers`` iterations.

    Departures from the paper: He et al. replace the whole iteration by a gated LSTM acting on
    the SBL statistics, trained on a multi-loss over layers; here the exact Gaussian posterior
    stays and only the variance update is learned (a per-coefficient factor of the EM update),
    so the untrained network is SBL itself.

    Args:
        operator: ``A``, a real `unrolled.Matrix` shared by all samples.
        layers: SBL iterations.
        hidden: the width of each `VarianceMap`.
        noise: σ² the layers start from (set it to the data's noise variance).
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    operator_sizes(operator, "sbl-net")
    if not isinstance(operator, Matrix):
        raise TypeError(
            f"operator: sbl-net needs an explicit matrix (unrolled.Matrix) for SBL's posterior, "
            f"got {type(operator).__name__}"
        )
    hidden = positive_int(hidden, "hidden")
    layers = positive_int(layers, "layers")

    def variance_map(k: int) -> nn.Module:
        return VarianceMap(hidden) if k < layers - 1 else EMVariances()

    return unroll(
        SBL(noise=noise),
        layers,
        learn="noise",
        replace={"mstep": variance_map},
        operator=operator,
        backprop=backprop,
    )


__all__ = ["EMVariances", "VarianceMap", "sbl_net"]
