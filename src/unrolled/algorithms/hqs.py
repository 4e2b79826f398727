"""HQS: half-quadratic splitting."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..core.checks import positive_int
from ..ops.cg import cg_solve
from ..priors import L1
from ._steps import start_slot, starting_point


class HQSState(NamedTuple):
    z: Tensor  # (B, *in_shape) the estimate: the prior step's (the data step's if prior_first)
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


@register("hqs")
class HQS(Algorithm):
    """Half-quadratic splitting (Geman & Yang 1995) for ``min_x ½‖Ax − y‖² + λ R(x)``, the
    iteration of plug-and-play DPIR (Zhang et al. 2021) and USRNet (Zhang et al. 2020):

        x_{t+1} = (AᴴA + μ_t I)⁻¹ (Aᴴy + μ_t z_t)          (data step)
        z_{t+1} = prox_{(λ/μ_t) R}(x_{t+1})                (prior step: a denoiser at σ² = λ/μ_t)
        μ_t     = μ · growth^t,                            z_0 = start(y, A) = 0

    With ``prior_first=True`` an iteration takes the prior step first and its estimate is the
    data step's, as in MoDL (Aggarwal, Mani & Jacob 2019, Eq. 11, with D the prior step):

        z_t = prox_{(λ/μ_t) R}(x_t),   x_{t+1} = (AᴴA + μ_t I)⁻¹ (Aᴴy + μ_t z_t),   x_0 = start(y, A)

    The data step is ``A.solve_gram``: closed form for `unrolled.ops.Blur`, `Downsample`
    (Zhao et al. 2016), `MRI`, `Inpainting`, the CS operators and `Matrix`; ``cg_iterations``
    steps of conjugate gradient for others. HQS solves the split problem with penalty μ_t;
    ``growth > 1`` drives μ_t up, so the split closes (x ≈ z) as it goes, as in DPIR's schedule.
    With the identity as prior step it is the proximal-point method on ½‖Ax − y‖².

    Args:
        growth: μ's factor per iteration (≥ 1; 1 keeps μ fixed).
        cg_iterations: CG steps per data step when the operator has no closed form (every data
            step when ``implicit``).
        prior_first: the prior step first, the data step's estimate out (MoDL's order).
        implicit: the data step by `unrolled.ops.cg_solve` from ``z_t``: ``cg_iterations`` CG
            steps whose gradient is implicit (one more solve, memory independent of the steps:
            MoDL's), whatever closed form the operator has.

    Params: ``mu`` μ > 0 (default 0.01), ``threshold`` λ > 0 (default 0.01). Slots:
    ``prox(v, tau)`` (default soft thresholding; a `unrolled.priors.TV`, `WaveletL1` or
    `Denoiser` fits), ``start(y, A)``.

    Shapes: ``y`` (B, *A.out_shape), ``x`` (B, *A.in_shape).
    """

    mu = Param(0.01, positive=True, doc="penalty μ of the split x = z (first iteration)")
    threshold = Param(0.01, positive=True, doc="regularisation weight λ")
    prox = Slot(L1(), doc="prox(v, tau) -> x, the proximal map of tau·R")
    start = start_slot()

    def __init__(
        self,
        growth: float = 1.0,
        cg_iterations: int = 50,
        *,
        prior_first: bool = False,
        implicit: bool = False,
        **overrides: Any,
    ) -> None:
        if not isinstance(growth, numbers.Real) or isinstance(growth, bool) or not growth >= 1:
            raise ValueError(f"growth: expected a number >= 1, got {growth!r}")
        for flag, name in ((prior_first, "prior_first"), (implicit, "implicit")):
            if not isinstance(flag, bool):
                raise TypeError(f"{name}: expected True or False, got {flag!r}")
        self.growth = float(growth)
        self.cg_iterations = positive_int(cg_iterations, "cg_iterations")
        self.prior_first = prior_first
        self.implicit = implicit
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> HQSState:
        Aty = A.H(y)
        return HQSState(starting_point(y, A, Aty, p, self.slots["start"].default), Aty)

    def update(self, state: HQSState, y: Tensor, A: Any, p: Layer) -> HQSState:
        estimate, Aty = state
        mu = p.mu * self.growth**p.layer
        if self.prior_first:
            z = p.prox(estimate, p.threshold / mu)
            return HQSState(self.data_step(z, Aty, A, mu), Aty)
        x = self.data_step(estimate, Aty, A, mu)
        return HQSState(p.prox(x, p.threshold / mu), Aty)

    def data_step(self, z: Tensor, Aty: Tensor, A: Any, mu: float | Tensor) -> Tensor:
        """``(AᴴA + μI)⁻¹ (Aᴴy + μ z)``, ``(B, *A.in_shape)``."""
        if self.implicit:
            return cg_solve(lambda v: A.gram(v) + mu * v, Aty + mu * z, self.cg_iterations, x0=z)
        return A.solve_gram(Aty + mu * z, mu, self.cg_iterations)

    def output(self, state: HQSState) -> Tensor:
        return state.z
