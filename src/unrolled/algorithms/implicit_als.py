"""Weighted ALS for implicit feedback (Hu, Koren & Volinsky 2008), conjugate-gradient solves."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Rule, register
from ..core.checks import positive_int
from ..recsys import cosine_basis, subspace_svd


class ImplicitALSState(NamedTuple):
    users: Tensor  # (U + B, d) the factors of the training users, then of the users scored
    items: Tensor  # (I, d) the item factors
    x: Tensor  # (B, I) the scores of the users scored
    rows: Tensor  # (U + B, I) the training interactions, then the histories scored, stacked once


def interactions(A: Any, name: str = "ImplicitALS") -> Tensor:
    """The ``(U, I)`` training interactions an item graph (`unrolled.recsys.item_graph`) keeps.

    Raises:
        TypeError: ``A`` has none.
    """
    R = getattr(A, "interactions", None)
    if not isinstance(R, Tensor) or R.ndim != 2:
        raise TypeError(
            f"A: {name} factorises the interactions an item graph keeps "
            f"(unrolled.recsys.item_graph, unrolled.data.ImplicitRanking.operator), got {A!r}"
        )
    return R


def svd_factors(A: Any, rank: int) -> Tensor:
    """``V √s`` ``(I, rank)`` from the rank-``rank`` truncated SVD ``R ≈ U diag(s) Vᵀ`` of the
    interactions (three subspace steps from a cosine basis: no random generator), factors
    beyond ``min(U, I)`` zero: the best rank-``rank`` fit of ``R``'s 0/1 entries, a start
    at which the first solves already rank."""
    R = interactions(A)
    k = min(rank, *R.shape)
    _, s, V = subspace_svd(R[None], cosine_basis(R.shape[1], k, R), 3)
    factors = V[0] * s[0].sqrt()
    return torch.cat([factors, factors.new_zeros(R.shape[1], rank - k)], -1)


def weighted_solve(
    R: Tensor, F: Tensor, start: Tensor, confidence: Tensor, reg: Tensor, steps: int
) -> Tensor:
    """Row u of the result approximates ``argmin_z Σ_j c_uj (r_uj − zᵀf_j)² + λ‖z‖²`` with
    ``c_uj = 1 + α r_uj`` (Hu et al. 2008, Eq. 3–4), i.e. the solution of

        (FᵀF + α Fᵀ diag(r_u) F + λI) z = (1 + α) Fᵀ r_u

    by ``steps`` conjugate-gradient steps from ``start`` (Takács, Pilászy & Tikk 2011), all rows
    at once: a step costs two ``(N, J)`` by ``d`` products, never the ``N`` Gram matrices
    ``(d, d)`` a direct solve forms. ``R`` ``(N, J)`` 0/1, ``F`` ``(J, d)``, ``start``
    ``(N, d)``; ``(N, d)``."""
    gram = F.mT @ F

    def system(Z: Tensor) -> Tensor:
        return Z @ gram + confidence * ((Z @ F.mT) * R) @ F + reg * Z

    # A row stops once its residual is at rounding level: CG's next step would divide
    # rounding errors by each other (the gradient with it), and the solution cannot improve.
    tiny = torch.finfo(F.dtype).tiny
    Z = start
    rhs = (1 + confidence) * (R @ F)
    floor = (torch.finfo(F.dtype).eps * 16) ** 2 * (rhs * rhs).sum(-1, keepdim=True)
    residual = rhs - system(Z)
    direction = residual
    power = (residual * residual).sum(-1, keepdim=True)
    for _ in range(steps):
        active = power > floor
        product = system(direction)
        curvature = (direction * product).sum(-1, keepdim=True).clamp_min(tiny)
        step = torch.where(active, power / curvature, 0.0)
        Z = Z + step * direction
        residual = residual - step * product
        new_power = (residual * residual).sum(-1, keepdim=True)
        direction = (
            residual + torch.where(active, new_power / power.clamp_min(tiny), 0.0) * direction
        )
        power = new_power
    return Z


@register("implicit-als")
class ImplicitALS(Algorithm):
    """Alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008, "Collaborative
    filtering for implicit feedback datasets", ICDM): the training interactions ``R`` ``(U, I)``
    (0/1, the preferences ``p_ui``) are fitted as ``x_uᵀy_i`` with confidence
    ``c_ui = 1 + α r_ui`` on every entry, the unobserved ones included (Eq. 3):

        min Σ_{u,i} c_ui (r_ui − x_uᵀy_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

    one iteration solving every item's ridge regression given the users, then every user's
    given the items (Eq. 4–5), each by ``cg_steps`` conjugate-gradient steps warm-started from
    the last factors (Takács et al. 2011; the ``implicit`` library's default solver):

        Y ← argmin_Y (X fixed),   [X; Z] ← argmin (Y fixed),   x = s · Z Yᵀ

    The users scored, the batch ``y`` ``(B, I)`` (their histories), are folded in as more rows
    of the user half-step: they are fitted to the item factors but never move them, so a user
    unseen in training is scored and no batch changes another's scores (Hu et al. §5 score a
    user by the same solve). The start is ``Y_0 = V√s`` from the truncated SVD of ``R``
    (`svd_factors`, the ``factors`` Param) and every user at its ridge fit to ``Y_0``.

    Params: ``factors`` Y_0 ``(I, d)``, the item factors' start; ``confidence`` α (the weight
    of an interaction over a non-interaction, less 1); ``reg`` λ; ``scale`` s, the scores'
    scale (1; a ranking loss's temperature when learned, in log space). The defaults (α = 5,
    λ = 0.01 at d = 32) are what validation chose for the ``implicit`` library's ALS on
    MovieLens-100K on two of three seeds (`benchmarks/ranking.py`'s grid; the third took
    λ = 1).

    Args:
        rank: d, the number of factors.
        cg_steps: conjugate-gradient steps per half-step (the ``implicit`` library's 3).

    Shapes: ``y`` (B, I) a user's interactions (0/1), ``A`` the item graph
    (`unrolled.recsys.item_graph`, for its ``interactions``), ``x`` (B, I) item scores.
    """

    factors = Param(
        Rule(lambda A: svd_factors(A, 32), "V√s of the rank-32 SVD of R"),
        shape=lambda A: (int(A.in_shape[0]), 32),
        doc="Y_0 (I, d): the item factors' start",
    )
    confidence = Param(5.0, log=True, doc="α, an interaction's confidence c = 1 + α")
    reg = Param(0.01, log=True, doc="λ, the ridge weight of every factor")
    scale = Param(1.0, log=True, doc="s, the scale of the scores (a ranking ignores it)")

    def __init__(self, rank: int = 32, cg_steps: int = 3, **overrides: Any) -> None:
        self.rank = positive_int(rank, "rank")
        self.cg_steps = positive_int(cg_steps, "cg_steps")
        super().__init__(**{k: v for k, v in overrides.items() if k != "factors"})
        spec = Param(
            Rule(lambda A: svd_factors(A, self.rank), f"V√s of the rank-{self.rank} SVD of R"),
            shape=lambda A: (int(A.in_shape[0]), self.rank),
            doc=type(self).factors.doc,
        )
        self.params["factors"] = spec.with_default(overrides.get("factors", spec.default))

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> ImplicitALSState:
        p = Layer(self.defaults(A), 0) if p is None else p
        R = interactions(A).to(y.dtype)
        Y = p.factors
        eye = torch.eye(Y.shape[-1], dtype=Y.dtype, device=Y.device)
        rows = torch.cat([R, y])
        users = torch.linalg.solve(Y.mT @ Y + p.reg * eye, (rows @ Y).mT).mT
        return ImplicitALSState(users, Y, p.scale * users[R.shape[0] :] @ Y.mT, rows)

    def update(self, state: ImplicitALSState, y: Tensor, A: Any, p: Layer) -> ImplicitALSState:
        rows = state.rows
        U = rows.shape[0] - y.shape[0]
        weights = (p.confidence, p.reg, self.cg_steps)
        items = weighted_solve(rows[:U].mT, state.users[:U], state.items, *weights)
        users = weighted_solve(rows, items, state.users, *weights)
        return ImplicitALSState(users, items, p.scale * users[U:] @ items.mT, rows)


__all__ = ["ImplicitALS", "ImplicitALSState", "svd_factors", "weighted_solve"]
