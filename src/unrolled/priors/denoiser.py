"""`Denoiser`: any image denoiser as a prior (plug-and-play)."""

from __future__ import annotations

import inspect

from torch import Tensor, nn

from ..core import register
from .basic import Prior, _check_tau


@register("denoiser", kind="prior")
class Denoiser(Prior):
    """A denoising network ``D`` in place of a proximal map (plug-and-play priors, Venkatakrishnan
    et al. 2013; DPIR, Zhang et al. 2021):

        prior(v, τ) = D(v, σ = √τ)     or     D(v)

    ``prox_{τR}`` is the MAP denoiser of ``v = x + n``, ``n ~ N(0, τ I)``, so a denoiser trained
    at noise level ``σ`` stands in for it at ``τ = σ²``.

    Args:
        module: the denoiser, an ``nn.Module`` mapping ``(B, *shape)`` to ``(B, *shape)``.
        conditioned: ``True``: call ``module(v, σ)`` (a noise-level-conditioned denoiser such
            as DPIR's DRUNet); ``False``: ``module(v)`` (a blind one, e.g.
            `unrolled.nn.DnCNN`); ``None`` (default): ``True`` when ``module.forward`` has a
            second positional parameter without a default.

    ``value`` is not defined: a learned denoiser has no explicit regulariser.
    """

    def __init__(self, module: nn.Module, conditioned: bool | None = None) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module: expected an nn.Module denoiser, got {type(module).__name__}")
        if conditioned is not None and not isinstance(conditioned, bool):
            raise TypeError(f"conditioned: expected True, False or None, got {conditioned!r}")
        self.module = module
        if conditioned is None:
            params = list(inspect.signature(module.forward).parameters.values())
            conditioned = (
                len(params) >= 2
                and params[1].kind
                in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                and params[1].default is inspect.Parameter.empty
            )
        self.conditioned = conditioned

    def forward(self, v: Tensor, tau: float | Tensor) -> Tensor:
        _check_tau(tau)
        if not self.conditioned:
            return self.module(v)
        return self.module(v, tau**0.5)

    def value(self, x: Tensor) -> Tensor:
        raise NotImplementedError("Denoiser: a learned denoiser defines no explicit R(x)")


__all__ = ["Denoiser"]
