"""Unrolled ALS: biased matrix factorisation with a learned regularisation and damping per
layer and, optionally, a learned correction of the factors."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..algorithms.als import ALS
from ..algorithms.als_mnar import ALSMNAR
from ..core import Recipe, register, unroll
from ..recsys import check_sampling_operator


class FactorCorrection(nn.Module):
    """``p_u ← p_u + f(p_u)``, ``q_i ← q_i + g(q_i)``: a residual two-layer MLP on every user's
    and every item's factor vector (``k → hidden → k``, ReLU). The last layers start at zero,
    so the correction starts as the identity (the ALS slot's classical default)."""

    def __init__(self, rank: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or 2 * rank
        self.user = nn.Sequential(nn.Linear(rank, hidden), nn.ReLU(), nn.Linear(hidden, rank))
        self.item = nn.Sequential(nn.Linear(rank, hidden), nn.ReLU(), nn.Linear(hidden, rank))
        for net in (self.user, self.item):
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def forward(self, P: Tensor, Q: Tensor) -> tuple[Tensor, Tensor]:
        """``P`` ``(B, U, k)``, ``Q`` ``(B, I, k)``; the same shapes back."""
        return P + self.user(P), Q + self.item(Q)


def target_loss(model: Any, problem: Any) -> dict[str, str]:
    """The loss the problem's truth asks for: squared error on ratings, the softmax ranking loss
    on `unrolled.data.RatingCompletion`'s ``target="ranking"`` relevance (squared error on 0/1
    relevance would pull the rating scale to it)."""
    return {"loss": "softmax" if getattr(problem, "target", None) == "ranking" else "mse"}


#: The recipe (`unrolled.Recipe`): the whole rating matrix per step (batch 1), a fresh 10 % of the training ratings held out each time; Adam 1e-2 and min_delta 1e-4 (RMSE moves in the fourth digit) measured here (benchmarks/recsys.py); the loss from the problem's target.
RECIPE = Recipe(
    {
        "schedule": "end-to-end",
        "lr": 1e-2,
        "batch_size": 1,
        "patience": None,
        "min_delta": 1e-4,
        "eval_every": 10,
    },
    derive=target_loss,
    notes="the whole rating matrix per step (batch 1), a fresh 10 % of the training ratings held out each time; Adam 1e-2 and min_delta 1e-4 (RMSE moves in the fourth digit) measured here (benchmarks/recsys.py); the loss from the problem's target.",
    derived="loss: mse on ratings, softmax on a ranking target",
)


@register("als-net", recipe=RECIPE)
def als_net(
    operator: Any = None,
    layers: int = 5,
    rank: int = 16,
    reg: float = 0.05,
    missing_weight: float = 0.0,
    missing_value: float = -3.0,
    correction: bool = False,
    backprop: str = "full",
) -> Any:
    """`unrolled.algorithms.ALS` (ALS-WR, Zhou et al. 2008) unrolled, its ridge weight λ_t and
    damping ω_t learned per layer; with ``missing_weight`` w_m > 0, `unrolled.algorithms.ALSMNAR`
    (Steck 2010), the unrated entries counted as ratings of μ + r_m with weight w_m, both
    learned per layer too; with ``correction``, a `FactorCorrection` per layer after each
    half-step pair:

        (p_u, b_u) ← (1 − ω_t)(p_u, b_u) + ω_t · ridge_u(λ_t),   (q_i, c_i) likewise,
        (P, Q) ← correct_t(P, Q)

    They start at λ = ``reg``, ω = 1, ``missing_weight``, ``missing_value`` and the identity:
    the untrained network is `ALS` (or `ALSMNAR`) with those values. Learned, the layers can
    regularise hard while the factors are far off and less once they settle, which a fixed λ
    cannot.

    Departures from the paper: the paper has no learned version; the per-layer λ, damping and
    correction are ours. The iteration adds user and item biases as one more factor each, and
    starts from a truncated SVD of the centred ratings (the paper: the item's mean rating in
    the first factor, small random numbers in the others).

    Args:
        operator: the `unrolled.ops.Inpainting` of the training mask (sizes nothing).
        layers: ALS sweeps unrolled (each a user and an item half-step).
        rank: k, the number of factors.
        reg: the classical λ the layers start from.
        missing_weight: w_m in [0, 1) the layers start from; 0 (the default) leaves the
            unrated entries out (`ALS`, ALS-WR). A ranking model wants it (`ALSMNAR`'s 0.3;
            train on ``RatingCompletion(target="ranking")`` with ``loss="softmax"``).
        missing_value: r_m, the rating imputed to unrated entries, relative to the mean.
        correction: learn a `FactorCorrection` per layer.
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.RatingCompletion` with ``loss="mse"``.
    """
    if operator is not None:
        check_sampling_operator(operator, "als-net")
    if not 0 <= missing_weight < 1:
        raise ValueError(f"missing_weight: expected a weight in [0, 1), got {missing_weight!r}")
    replace = {"correct": lambda k: FactorCorrection(rank)} if correction else None
    algorithm, learn = ALS(rank=rank, reg=reg), ("reg", "damping")
    if missing_weight > 0:
        missing = {"missing_weight": missing_weight, "missing_value": missing_value}
        algorithm, learn = ALSMNAR(rank=rank, reg=reg, **missing), (*learn, *missing)
    return unroll(
        algorithm,
        layers,
        learn=learn,
        replace=replace,
        operator=operator,
        backprop=backprop,
    )


__all__ = ["FactorCorrection", "als_net"]
