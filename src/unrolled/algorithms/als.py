"""ALS: alternating least squares for biased matrix factorisation."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..core.checks import positive_int
from ..recsys import cosine_basis, observation_mask, observed_mean, subspace_svd


class ALSState(NamedTuple):
    P: Tensor  # (B, U, k) user factors
    Q: Tensor  # (B, I, k) item factors
    b: Tensor  # (B, U) user biases
    c: Tensor  # (B, I) item biases
    R: Tensor  # (B, U, I) the observed ratings minus μ, 0 elsewhere
    W: Tensor  # (B, U, I) the observation mask AᴴA1
    mu: Tensor  # (B,) the mean observed rating
    n_user: Tensor  # (B, U) ratings per user (at least 1)
    n_item: Tensor  # (B, I) ratings per item (at least 1)


def keep_factors(P: Tensor, Q: Tensor) -> tuple[Tensor, Tensor]:
    """The classical ``correct`` slot: the factors as they are."""
    return P, Q


def _ridge(R: Tensor, W: Tensor, F: Tensor, reg: Tensor, count: Tensor) -> Tensor:
    """Row u of the result solves ``min_z Σ_j W_uj (R_uj − F_jᵀz)² + reg·n_u‖z‖²`` (``W`` the
    weight of each entry, ``count`` n_u ``(B, U)``): ``R``, ``W`` ``(B, U, J)``, ``F``
    ``(B, J, d)``; ``(B, U, d)``."""
    d = F.shape[-1]
    outer = (F[..., :, None] * F[..., None, :]).flatten(-2)  # (B, J, d²)
    gram = (W @ outer).unflatten(-1, (d, d))  # (B, U, d, d)
    eye = torch.eye(d, dtype=F.dtype, device=F.device)
    gram = gram + (reg * count)[..., None, None] * eye
    return torch.linalg.solve(gram, (W * R) @ F)


@register("als")
class ALS(Algorithm):
    """Alternating least squares for ``r_ui ≈ μ + b_u + c_i + p_uᵀq_i`` with weighted-λ
    regularisation (ALS-WR, Zhou et al. 2008, "Large-scale parallel collaborative filtering for
    the Netflix Prize"): each half-step solves every user's (then every item's) ridge regression
    exactly, the bias as one more factor:

        (p_u, b_u) ← (1 − ω_t)(p_u, b_u) + ω_t argmin Σ_{i∈Ω_u} (r_ui − μ − c_i − b_u − p_uᵀq_i)²
                                                   + λ_t n_u (‖p_u‖² + b_u²)
        (q_i, c_i) ← the same over the users who rated i, with the new (p_u, b_u)
        (P, Q)     ← correct(P, Q)

    The objective is non-convex (bilinear), yet each half-step is a closed-form least-squares
    solve: unrolling is not limited to convex problems. μ is the mean observed rating; the start
    is ``Q = V√s`` from a rank-k truncated SVD of the centred ratings (a fixed cosine basis
    refined by ``start_iterations`` power steps, so no random generator), biases 0.

    Params: ``reg`` λ, ``damping`` ω (1: plain ALS; below 1 damps, above over-relaxes).
    Slot: ``correct(P, Q) -> (P, Q)``, applied after each layer; classically the identity.

    Args:
        rank: k, the number of factors (those beyond min(U, I) start at zero and, without a
            correction, stay there).
        start_iterations: power steps of the starting SVD.

    Shapes: ``y`` ``(B, U, I)`` the observed ratings (0 elsewhere), ``A`` a sampling operator
    (`unrolled.ops.Inpainting` with the mask), ``x`` ``(B, U, I)`` every predicted rating.
    """

    reg = Param(0.05, positive=True, doc="λ, the ridge weight per rating")
    damping = Param(1.0, between=(0.0, 2.0), doc="ω, the weight of the new solution")
    correct = Slot(keep_factors, doc="correct(P, Q) -> (P, Q), after each layer")

    def __init__(self, rank: int = 16, start_iterations: int = 3, **overrides: Any) -> None:
        super().__init__(**overrides)
        self.rank = positive_int(rank, "rank")
        self.start_iterations = positive_int(start_iterations, "start_iterations")

    def init(self, y: Tensor, A: Any) -> ALSState:
        W = observation_mask(y, A, "ALS")
        mu = observed_mean(y, W)
        R = W * (y - mu[:, None, None])
        B, U, I = y.shape
        k = min(self.rank, U, I)
        V = cosine_basis(I, k, y).expand(B, -1, -1)
        _, s, V = subspace_svd(R, V, self.start_iterations)
        Q = V * s[:, None, :].sqrt()
        # factors beyond min(U, I) start at zero (and, classically, stay there)
        Q = torch.cat([Q, Q.new_zeros(B, I, self.rank - k)], -1)
        P = Q.new_zeros(B, U, self.rank)
        n_user, n_item = W.sum(-1).clamp_min(1), W.sum(-2).clamp_min(1)
        return ALSState(P, Q, y.new_zeros(B, U), y.new_zeros(B, I), R, W, mu, n_user, n_item)

    def update(self, state: ALSState, y: Tensor, A: Any, p: Layer) -> ALSState:
        P, Q, b, c, R, W, _, n_user, n_item = state
        w = p.damping
        R, W = self.weighted(R, W, p)
        ones_i = Q.new_ones(*Q.shape[:-1], 1)
        user = _ridge(R - c[:, None, :], W, torch.cat([Q, ones_i], -1), p.reg, n_user)
        P, b = (1 - w) * P + w * user[..., :-1], (1 - w) * b + w * user[..., -1]
        ones_u = P.new_ones(*P.shape[:-1], 1)
        Rt, Wt = R.mT, W.mT
        item = _ridge(Rt - b[:, None, :], Wt, torch.cat([P, ones_u], -1), p.reg, n_item)
        Q, c = (1 - w) * Q + w * item[..., :-1], (1 - w) * c + w * item[..., -1]
        P, Q = p.correct(P, Q)
        return state._replace(P=P, Q=Q, b=b, c=c)

    def weighted(self, R: Tensor, W: Tensor, p: Layer) -> tuple[Tensor, Tensor]:
        """The targets and weights of every entry, ``(B, U, I)`` each: the observed ratings
        (minus μ) with weight 1, the rest with weight 0 (`ALSMNAR` weighs them too)."""
        return R, W

    def output(self, state: ALSState) -> Tensor:
        P, Q, b, c, _, _, mu, _, _ = state
        return mu[:, None, None] + b[:, :, None] + c[:, None, :] + P @ Q.mT
