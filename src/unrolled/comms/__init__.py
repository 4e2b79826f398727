"""Wireless MIMO detection: constellations, channels, the classical detectors that are not
iterations, error rates, and the detection problem for training.

``y = Hx + n``: ``H`` ``(B, m, n)`` one channel per sample (`Channel`, a batched `Matrix` that
also carries the noise variance), SNR per receive antenna = Es/N0 (`unrolled.comms.channel`
states the convention). The iterative detectors are algorithms (`unrolled.algorithms.OAMP`,
`unrolled.algorithms.MIMOAMP`) and the learned ones models (`unrolled.models`).
"""

from .channel import (
    Channel,
    awgn,
    complex_vector,
    correlation_matrix,
    kronecker,
    noise_variance,
    rayleigh,
    real_equivalent,
    real_vector,
)
from .constellation import Constellation
from .detectors import maximum_likelihood, mmse, sphere_decoder, zero_forcing
from .errors import ErrorRate, error_rates, wilson_interval
from .posterior import discrete_posterior

__all__ = [
    "Channel",
    "Constellation",
    "ErrorRate",
    "awgn",
    "complex_vector",
    "correlation_matrix",
    "discrete_posterior",
    "error_rates",
    "kronecker",
    "maximum_likelihood",
    "mmse",
    "noise_variance",
    "rayleigh",
    "real_equivalent",
    "real_vector",
    "sphere_decoder",
    "wilson_interval",
    "zero_forcing",
]
