"""ADMM-Net (Yang, Sun, Li & Xu 2016): ADMM for compressive MRI with every stage's filters,
shrinkage, penalty and multiplier step learned."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..algorithms import ADMM
from ..core import register, unroll
from ..core.checks import positive_int
from ._common import annealed_recipe, positive_number
from ._imaging import image_channels


def dct_filters(size: int = 3) -> Tensor:
    """The ``size² − 1`` non-constant 2-D DCT-II basis filters of side ``size``, scaled by
    ``1/size`` so that, as circular convolutions, the whole basis is a Parseval frame (every
    pixel lies in size² patches): ``(size² − 1, 1, size, size)``, ADMM-Net's initial filters."""
    n = torch.arange(size, dtype=torch.float64)
    basis = torch.stack([torch.cos(math.pi * (n + 0.5) * k / size) for k in range(size)])  # (k, n)
    basis = basis / basis.norm(dim=1, keepdim=True)
    filters = torch.einsum("ai,bj->abij", basis, basis).reshape(size * size, size, size)
    return (filters[1:] / size).unsqueeze(1).float()


class FilterShrinkage(nn.Module):
    """ADMM-Net's regularisation step, as the proximal map of an analysis sparsity prior:

        prox(v, τ) = v − Dᴴ clip(D v, −τ s, τ s)

    ``D`` a bank of L learned ``k×k`` filters (applied to each real channel alone; complex
    images as real and imaginary parts), ``s`` a learned scale per filter. When ``D`` is a
    Parseval frame (``DᴴD = I``, as the initial DCT bank nearly is) this is exactly the prox of
    ``τ‖D x‖₁``: ``Dᴴ soft(D v, τ s)``. ADMM-Net's learned piecewise-linear shrinkage is
    replaced by this soft-threshold form with a learned level per filter.

    Shapes: ``v`` ``(B, *shape)`` real or complex, ``shape`` ending in ``(H, W)``.
    """

    def __init__(self, size: int = 3) -> None:
        super().__init__()
        size = positive_int(size, "size")
        if size < 2:
            raise ValueError(f"size: expected a filter side >= 2, got {size}")
        self.filters = nn.Parameter(dct_filters(size))
        self.log_scale = nn.Parameter(torch.zeros(size * size - 1))

    def forward(self, v: Tensor, tau: float | Tensor) -> Tensor:
        real = torch.view_as_real(v).movedim(-1, 1) if v.is_complex() else v
        H, W = real.shape[-2:]
        planes = real.reshape(-1, 1, H, W)
        pad = self.filters.shape[-1] // 2
        coefficients = F.conv2d(F.pad(planes, (pad,) * 4, mode="circular"), self.filters)
        level = self.log_scale.exp().view(1, -1, 1, 1)
        if isinstance(tau, Tensor) and tau.ndim > 0:  # one τ per sample: per plane
            tau = tau.reshape(real.shape[0], 1).expand(-1, planes.shape[0] // real.shape[0])
            tau = tau.reshape(-1, 1, 1, 1)
        level = level * tau
        clipped = torch.maximum(torch.minimum(coefficients, level), -level)
        back = F.conv_transpose2d(clipped, self.filters)  # the adjoint of the circular conv
        back = _fold_circular(back, pad)
        out = (planes - back).reshape(real.shape)
        return torch.view_as_complex(out.movedim(1, -1).contiguous()) if v.is_complex() else out


def _fold_circular(x: Tensor, pad: int) -> Tensor:
    """The adjoint of circular padding by ``pad``: wrap the border back onto the image."""
    if pad == 0:
        return x
    x = x.clone()
    x[..., pad : 2 * pad, :] += x[..., -pad:, :]
    x[..., -2 * pad : -pad, :] += x[..., :pad, :]
    x[..., :, pad : 2 * pad] += x[..., :, -pad:]
    x[..., :, -2 * pad : -pad] += x[..., :, :pad]
    return x[..., pad:-pad, pad:-pad]


#: The recipe (`unrolled.Recipe`): end-to-end as Yang et al. train it; Adam 1e-2 annealed over the budget, batches of 16 and the linear NMSE measured here (benchmarks/imaging.py).
RECIPE = annealed_recipe(
    loss="nmse",
    lr=0.01,
    batch_size=16,
    notes="end-to-end as Yang et al. train it; Adam 1e-2 annealed over the budget, batches of 16 and the linear NMSE measured here (benchmarks/imaging.py).",
)


@register("admm-net", recipe=RECIPE)
def admm_net(
    operator: Any = None,
    layers: int = 10,
    filter_size: int = 3,
    rho: float = 0.1,
    threshold: float = 0.002,
    cg_iterations: int = 20,
    backprop: str = "full",
) -> Any:
    """ADMM-Net (Yang, Sun, Li & Xu 2016, "Deep ADMM-Net for compressive sensing MRI"):
    `unrolled.algorithms.ADMM` (the stages X, Z and M) whose every stage learns its filter
    bank and shrinkage levels (the prox, a `FilterShrinkage`), penalty ρ_t, weight λ_t and
    multiplier step η_t:

        x_{t+1} = (AᴴA + ρ_t I)⁻¹ (Aᴴy + ρ_t (z_t − u_t))       (reconstruction, closed form
                                                                 for Cartesian MRI)
        z_{t+1} = prox_t(x_{t+1} + u_t, λ_t / ρ_t)                (a `FilterShrinkage`)
        u_{t+1} = u_t + η_t (x_{t+1} − z_{t+1})                   (multiplier update)

    The paper: 15 stages (10 here), 8 filters of 3×3 initialised to the DCT basis.

    Departures from the paper: the split is ``x = z`` with the filters inside the z-step's
    analysis prox (`FilterShrinkage`), not one auxiliary variable per filter; the shrinkage is a
    soft threshold with a learned level per filter instead of a learned piecewise-linear
    function; multi-coil operators are supported (the x-step then runs ``cg_iterations`` CG
    steps).

    Args:
        operator: the forward model, real or complex images (e.g. `unrolled.ops.MRI`).
        layers: stages.
        filter_size: filter side k (k² − 1 filters).
        rho, threshold: initial ρ_t and λ_t.
        cg_iterations: CG steps of the x-step when the operator has no closed form.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    image_channels(operator, "admm-net")
    alg = ADMM(
        cg_iterations=cg_iterations,
        rho=positive_number(rho, "rho"),
        threshold=positive_number(threshold, "threshold"),
    )
    return unroll(
        alg,
        layers,
        learn=("rho", "threshold", "eta"),
        replace={"prox": lambda k: FilterShrinkage(filter_size)},
        operator=operator,
        backprop=backprop,
    )


__all__ = ["FilterShrinkage", "admm_net", "dct_filters"]
