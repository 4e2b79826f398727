"""Regularisers ``R`` and their proximal maps.

A prior is an `nn.Module` whose call is its proximal map::

    prior(v, tau) = prox_{τR}(v) = argmin_x ½‖x − v‖² + τ R(x)

so it can fill a ``prox`` slot of an algorithm and be swapped for a learned module with the same
call. ``prior.value(x)`` is ``R(x)`` per sample. ``v`` is ``(B, *shape)``; ``tau`` is a number or
a tensor broadcastable to ``v`` (per layer, per sample or per feature).

One file per family: `basic` (L1, L2, constraints, the thresholds), `nuclear` (the nuclear
norm, singular-value thresholding), `wavelet`, `tv`,
`denoiser` (plug-and-play).
"""

from .basic import (
    L1,
    L2,
    Box,
    NonNegative,
    Prior,
    Tikhonov,
    soft_threshold,
    soft_threshold_support,
    support_count,
)
from .denoiser import Denoiser
from .nuclear import NuclearNorm, singular_value_threshold
from .tv import TV
from .wavelet import WaveletL1

__all__ = [
    "L1",
    "L2",
    "TV",
    "Box",
    "Denoiser",
    "NonNegative",
    "NuclearNorm",
    "Prior",
    "Tikhonov",
    "WaveletL1",
    "singular_value_threshold",
    "soft_threshold",
    "soft_threshold_support",
    "support_count",
]
