"""Unrolled expectation propagation for MIMO detection: a learned damping and cavity-variance
scale per layer."""

from __future__ import annotations

from typing import Any

from ..algorithms.ep import EP
from ..core import register
from .oamp_net import RECIPE, unrolled_detector


@register("ep-net", recipe=RECIPE)
def ep_net(
    operator: Any = None,
    layers: int = 10,
    constellation: str = "qpsk",
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
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.MIMODetection`.
    """
    learn = ("damping", "cavity_scale")
    return unrolled_detector("ep-net", EP(constellation), layers, learn, operator, backprop)


__all__ = ["ep_net"]
