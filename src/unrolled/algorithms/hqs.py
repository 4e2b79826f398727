"""HQS: half-quadratic splitting."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..core.checks import positive_int
from ..priors import L1


class HQSState(NamedTuple):
    z: Tensor  # (B, *in_shape) the prior variable (the estimate)
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


@register("hqs")
class HQS(Algorithm):
    """Half-quadratic splitting (Geman & Yang 1995) for ``min_x ½‖Ax − y‖² + λ R(x)``, the
    iteration of plug-and-play DPIR (Zhang et al. 2021) and USRNet (Zhang et al. 2020):

        x_{t+1} = (AᴴA + μ_t I)⁻¹ (Aᴴy + μ_t z_t)          (data step)
        z_{t+1} = prox_{(λ/μ_t) R}(x_{t+1})                (prior step: a denoiser at σ² = λ/μ_t)
        μ_t     = μ · growth^t,                            z_0 = 0

    The data step is ``A.solve_gram``: closed form for `unrolled.ops.Blur`, `Downsample`
    (Zhao et al. 2016), `MRI`, `Inpainting`, the CS operators and `Matrix`; ``cg_iterations``
    steps of conjugate gradient for others. HQS solves the split problem with penalty μ_t;
    ``growth > 1`` drives μ_t up, so the split closes (x ≈ z) as it goes, as in DPIR's schedule.

    Args:
        growth: μ's factor per iteration (≥ 1; 1 keeps μ fixed).
        cg_iterations: CG steps per data step when the operator has no closed form.

    Params: ``mu`` μ > 0 (default 0.01), ``threshold`` λ > 0 (default 0.01). Slot:
    ``prox(v, tau)`` (default soft thresholding; a `unrolled.priors.TV`, `WaveletL1` or
    `Denoiser` fits).

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    mu = Param(0.01, positive=True, doc="penalty μ of the split x = z (first iteration)")
    threshold = Param(0.01, positive=True, doc="regularisation weight λ")
    prox = Slot(L1(), doc="prox(v, tau) -> x, the proximal map of tau·R")

    def __init__(self, growth: float = 1.0, cg_iterations: int = 50, **overrides: Any) -> None:
        if not isinstance(growth, numbers.Real) or isinstance(growth, bool) or not growth >= 1:
            raise ValueError(f"growth: expected a number >= 1, got {growth!r}")
        self.growth = float(growth)
        self.cg_iterations = positive_int(cg_iterations, "cg_iterations")
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any) -> HQSState:
        Aty = A.H(y)
        return HQSState(torch.zeros_like(Aty), Aty)

    def update(self, state: HQSState, y: Tensor, A: Any, p: Layer) -> HQSState:
        z, Aty = state
        mu = p.mu * self.growth**p.layer
        x = A.solve_gram(Aty + mu * z, mu, self.cg_iterations)
        return HQSState(p.prox(x, p.threshold / mu), Aty)

    def output(self, state: HQSState) -> Tensor:
        return state.z
