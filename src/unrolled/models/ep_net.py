"""Unrolled expectation propagation for MIMO detection: a learned damping and cavity-variance
scale per layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..algorithms.ep import EP
from ..comms.posterior import discrete_posterior
from ..core import register
from .oamp_net import RECIPE, unrolled_detector


class CavityCorrection(nn.Module):
    """``t ← t + √h² · f₁(φ)``, ``h² ← h² · exp(f₂(φ))``: a two-layer MLP per real dimension of
    its cavity features ``φ = (t, log h², (t − E[x | t, h²]) / √h²)`` (the last: how far the
    cavity sits from what the constellation makes of it, in cavity deviations), the same for
    every stream. The output layer starts at zero, so the correction starts as the identity
    (EP's classical slot): GEPNet's idea (Kosasih et al. 2022, a graph network correcting EP's
    cavities) with the streams' features alone.

    Args:
        levels: ``(L,)`` the constellation's real levels (``Constellation.pam``).
        hidden: the MLP's width.
    """

    def __init__(self, levels: Tensor, hidden: int = 16) -> None:
        super().__init__()
        self.register_buffer("levels", levels.clone().float(), persistent=False)
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, t: Tensor, h2: Tensor) -> tuple[Tensor, Tensor]:
        """``t``, ``h2`` ``(B, N)``; the same shapes back."""
        deviation = h2.sqrt()
        mean, _ = discrete_posterior(t, h2, self.levels)
        features = torch.stack([t, h2.log(), (t - mean) / deviation], dim=-1)
        shift, log_scale = self.net(features.to(self.net[0].weight.dtype)).to(t.dtype).unbind(-1)
        return t + deviation * shift, h2 * log_scale.exp()


@register("ep-net", recipe=RECIPE)
def ep_net(
    operator: Any = None,
    layers: int = 10,
    constellation: str = "qpsk",
    correction: bool = False,
    backprop: str = "full",
) -> Any:
    """EP unrolled, as the learned EP detectors are (Kosasih et al. 2022, "Graph neural network
    aided MU-MIMO detectors", learn EP's cavity statistics with a graph network):
    `unrolled.algorithms.EP` with the damping β_t (the weight of the new site) and the
    cavity-variance scale c_t learned per layer, in

        h_i² = c_t Σ_ii / (1 − Σ_ii Λ_i),   Λ ← β_t Λ_new + (1 − β_t) Λ,   γ ← β_t γ_new + (1 − β_t) γ

    They start at the paper's β = 0.2 and c = 1: the untrained network is EP. One precision per
    stream is what lets EP tell a faded stream from a strong one on small square arrays, where
    OAMP's single error variance cannot; learning β_t lets the first layers move faster than a
    damping chosen for convergence, c_t corrects the cavity variances that EP's Gaussian
    approximation gets wrong at high SNR.

    Departures from the papers: one network for a range of SNRs (`unrolled.data.MIMODetection`),
    trained end to end on the squared error of the moment-matched means (as OAMP-Net2, its
    recipe).

    Args:
        operator: a `unrolled.comms.Channel` (the factory checks the kind).
        layers: EP iterations (the paper: 10).
        constellation: the symbols' constellation (its levels are the prior).
        correction: learn a `CavityCorrection` per layer too.
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.MIMODetection`.
    """
    if not isinstance(correction, bool):
        raise TypeError(f"correction: expected True or False, got {correction!r}")
    algorithm = EP(constellation)
    levels = algorithm.constellation.pam
    replace = {"correct_cavity": lambda k: CavityCorrection(levels)} if correction else None
    learn = ("damping", "cavity_scale")
    return unrolled_detector("ep-net", algorithm, layers, learn, operator, backprop, replace)


__all__ = ["CavityCorrection", "ep_net"]
