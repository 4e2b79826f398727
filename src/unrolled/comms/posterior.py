"""The posterior of a uniform discrete alphabet seen through Gaussian noise: the soft-decision
denoiser of AMP, OAMP and the learned detectors built on them."""

from __future__ import annotations

import torch
from torch import Tensor


def discrete_posterior(r: Tensor, tau: Tensor | float, levels: Tensor) -> tuple[Tensor, Tensor]:
    """``E[x | r]`` and ``Var[x | r]`` entrywise for ``r = x + w``, ``x`` uniform on ``levels``
    and ``w ~ N(0, τ²)``:

        p(x = s | r) ∝ exp(−(r − s)² / (2τ²)),   E[x | r] = Σ_s s p(s | r),
        Var[x | r] = Σ_s s² p(s | r) − E[x | r]²

    (a softmax over the levels, so large ``r/τ`` never overflows).

    Args:
        r: real ``(B, N)``, the per-dimension observations.
        tau: ``τ²``, the noise variance: a number, ``(B, 1)`` or ``(B, N)``.
        levels: ``(L,)`` the real alphabet of one dimension (``Constellation.pam``).

    Returns:
        ``(mean, variance)``, each ``(B, N)``.
    """
    if r.is_complex():
        raise TypeError(
            f"r: expected a real tensor (use the real-valued equivalent), got {r.dtype}"
        )
    s = levels.to(r.device, r.dtype)
    tau = torch.as_tensor(tau, dtype=r.dtype, device=r.device).clamp_min(torch.finfo(r.dtype).tiny)
    logits = -(r.unsqueeze(-1) - s).square() / (2 * tau.unsqueeze(-1))
    p = torch.softmax(logits, dim=-1)
    mean = (p * s).sum(-1)
    variance = ((p * s.square()).sum(-1) - mean.square()).clamp_min(0)
    return mean, variance
