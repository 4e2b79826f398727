"""Symbol and bit error rates by Monte Carlo, with confidence intervals, stopping each SNR point
after a fixed number of errors or symbols."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import torch
from torch import Tensor

from .channel import Channel
from .constellation import Constellation


def wilson_interval(errors: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a rate of ``errors`` in ``trials`` (Wilson 1927): unlike the
    normal approximation it stays inside [0, 1] and is not empty at zero errors."""
    if trials < 1 or not 0 <= errors <= trials:
        raise ValueError(
            f"errors, trials: expected 0 ≤ errors ≤ trials, trials ≥ 1, got {errors}, {trials}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = errors / trials
    denom = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    lo = 0.0 if errors == 0 else max(0.0, center - half)  # exact at the ends, no rounding
    hi = 1.0 if errors == trials else min(1.0, center + half)
    return lo, hi


@dataclass
class ErrorRate:
    """``errors`` out of ``trials`` (symbols or bits)."""

    errors: int
    trials: int

    @property
    def rate(self) -> float:
        return self.errors / self.trials if self.trials else math.nan

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The Wilson interval (`wilson_interval`). Errors of one received vector are correlated,
        so it treats symbols as independent trials and is somewhat narrower than the truth."""
        return wilson_interval(self.errors, self.trials, confidence)

    def as_dict(self) -> dict[str, float | int]:
        lo, hi = self.interval()
        return {"rate": self.rate, "errors": self.errors, "trials": self.trials, "ci95": [lo, hi]}


#: ``sample(batch) -> (indices, y, A)``: transmitted symbol indices ``(B, n)``, received ``y``
#: ``(B, m)`` and the channel.
Sampler = Callable[[int], tuple[Tensor, Tensor, Channel]]
#: ``detect(y, A) -> indices`` ``(B, n)``: hard decisions.
Detector = Callable[[Tensor, Channel], Tensor]


@torch.no_grad()
def error_rates(
    detect: Detector,
    sample: Sampler,
    constellation: Constellation,
    min_errors: int = 200,
    max_symbols: int = 10**6,
    batch: int = 4096,
) -> dict[str, ErrorRate]:
    """SER and BER of ``detect`` on batches from ``sample`` until ``min_errors`` symbol errors
    or ``max_symbols`` symbols, whichever comes first (so a point at low SER costs at most
    ``max_symbols``, and its interval says how much that bought).

    Returns ``{"ser": ErrorRate, "ber": ErrorRate}``.
    """
    for name, v in (("min_errors", min_errors), ("max_symbols", max_symbols), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")
    ser, ber = ErrorRate(0, 0), ErrorRate(0, 0)
    while ser.errors < min_errors and ser.trials < max_symbols:
        sent, y, A = sample(batch)
        got = detect(y, A)
        if got.shape != sent.shape:
            raise ValueError(
                f"detect: expected indices of shape {tuple(sent.shape)}, got {tuple(got.shape)}"
            )
        ser.errors += int((got != sent).sum())
        ser.trials += sent.numel()
        ber.errors += int((constellation.bits(got) != constellation.bits(sent)).sum())
        ber.trials += sent.numel() * constellation.bits_per_symbol
    return {"ser": ser, "ber": ber}
