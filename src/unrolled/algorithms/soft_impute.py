"""Soft-impute: matrix completion by singular-value thresholding of the filled-in matrix."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, register
from ..core.checks import positive_int
from ..priors.nuclear import singular_value_threshold
from ..recsys import (
    cosine_basis,
    observation_mask,
    orthonormal_basis,
    rating_biases,
    subspace_svd,
)


class SoftImputeState(NamedTuple):
    Z: Tensor  # (B, U, I) the low-rank estimate of the residual
    V: Tensor  # (B, I, k) its right singular subspace, the next SVD's warm start
    R: Tensor  # (B, U, I) the observed residual y − baseline, 0 elsewhere
    W: Tensor  # (B, U, I) the observation mask AᴴA1
    base: Tensor  # (B, U, I) the baseline μ + b_u + c_i
    scale: Tensor  # (B, 1) σ₁(R), the unit of the threshold


@register("soft-impute")
class SoftImpute(Algorithm):
    """Soft-impute (Mazumder, Hastie & Tibshirani 2010, Algorithm 1) on the residual of the
    baseline predictor, with a step:

        b       = μ + b_u + c_i                       (`unrolled.recsys.rating_biases`, once)
        R       = P_Ω(y − b)
        Z_{t+1} = S_{α_t λ_t σ₁(R)}( Z_t + α_t (R − P_Ω(Z_t)) ),     Z_0 = 0,     x̂ = b + Z

    ``S_τ`` soft-thresholds the singular values by τ (singular-value thresholding, the prox of
    τ‖·‖_*): this is proximal gradient on ``½‖P_Ω(Z − R)‖² + λσ₁(R)‖Z‖_*``. With α = 1 (the
    default) ``Z + R − P_Ω(Z) = P_Ω(R) + P_Ω^⊥(Z)``, the paper's filled-in matrix.

    Departures from the paper, for speed and scale: the SVD is truncated to ``rank`` (the
    paper's rank-restricted variant) and computed by one step of subspace iteration
    warm-started from the previous iterate's row space: ``Q = orth(M V_t)``, ``S_τ(M) ≈
    Q S_τ(QᴴM)``, ``V_{t+1} = orth(MᴴQ)`` (the start is a fixed cosine basis refined by
    ``start_iterations`` power steps on R, `unrolled.recsys.subspace_svd`), so a layer costs a
    few (U × I × k) products; the threshold is relative to σ₁(R), so one value suits
    matrices of any size and density; the matrix is the residual of the baseline predictor
    (the paper centres by the mean).

    Params: ``step`` α, ``threshold`` λ (a fraction of σ₁(R)).

    Args:
        rank: the largest rank of Z (the truncation).
        start_iterations: power steps for the starting subspace.
        reg_user, reg_item: the baseline's regularisation (`rating_biases`).

    Shapes: ``y`` ``(B, U, I)`` the observed ratings (0 elsewhere), ``A`` a sampling operator
    (`unrolled.ops.Inpainting` with the mask), ``x`` ``(B, U, I)`` every predicted rating.
    """

    step = Param(1.0, positive=True, doc="α, the step on the observed entries")
    threshold = Param(0.05, positive=True, doc="λ, the singular-value threshold over σ₁(R)")

    def __init__(
        self,
        rank: int = 32,
        start_iterations: int = 3,
        reg_user: float = 15.0,
        reg_item: float = 10.0,
        **overrides: Any,
    ) -> None:
        super().__init__(**overrides)
        self.rank = positive_int(rank, "rank")
        self.start_iterations = positive_int(start_iterations, "start_iterations")
        self.reg_user, self.reg_item = float(reg_user), float(reg_item)

    def init(self, y: Tensor, A: Any) -> SoftImputeState:
        W = observation_mask(y, A, "SoftImpute")
        mu, b, c = rating_biases(y, W, self.reg_user, self.reg_item)
        base = mu[:, None, None] + b[:, :, None] + c[:, None, :]
        R = W * (y - base)
        k = min(self.rank, *y.shape[-2:])
        V = cosine_basis(y.shape[-1], k, y).expand(y.shape[0], -1, -1)
        _, s, V = subspace_svd(R, V, self.start_iterations)
        return SoftImputeState(torch.zeros_like(R), V, R, W, base, s[:, :1])

    def update(self, state: SoftImputeState, y: Tensor, A: Any, p: Layer) -> SoftImputeState:
        Z, V, R, W, base, scale = state
        filled = Z + p.step * (R - W * Z)
        Q = orthonormal_basis(filled @ V)  # (B, U, k)
        small = Q.mH @ filled  # (B, k, I)
        Z = Q @ singular_value_threshold(small, p.step * p.threshold * scale)
        return SoftImputeState(Z, orthonormal_basis(small.mH), R, W, base, scale)

    def output(self, state: SoftImputeState) -> Tensor:
        return state.base + state.Z
