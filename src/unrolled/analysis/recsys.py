"""Scoring matrix completion on one evaluation split of a rating set: RMSE and MAE on its test
ratings, Recall@10 and NDCG@10 of the lists a prediction ranks, and a classical algorithm's
score after each iteration. The comparison that trains networks is `unrolled.demos.recsys`.

Predictions are clipped to the rating scale of the training ratings, for every method alike
(as Surprise does). Top-N lists rank, for each user, every item it did not rate in training by
the unclipped prediction; its test ratings of at least `LIKED` are the relevant items (implicit
feedback from explicit ratings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..core import Algorithm, Layer
from ..data import RatingCompletion
from ..metrics import ndcg_at_k, recall_at_k

#: Top-N: the list length, and the test rating from which an item counts as liked.
TOP_N = 10
LIKED = 4.0
#: The keys `scores` adds with ``ranked``.
RANKING = (f"recall@{TOP_N}", f"ndcg@{TOP_N}")


def _pairs(p: RatingCompletion, which: str) -> tuple[Tensor, Tensor, Tensor]:
    r = p.test_ratings if which == "test" else p.train_ratings
    return torch.from_numpy(r.users), torch.from_numpy(r.items), torch.from_numpy(r.values)


def scores(x: Tensor, p: RatingCompletion, ranked: bool = False) -> dict[str, float]:
    """RMSE and MAE of the predictions ``x`` ``(1, U, I)`` on the test ratings, clipped to the
    training ratings' scale; with ``ranked``, also Recall@`TOP_N` and NDCG@`TOP_N` of each
    user's list of the items it did not rate in training (relevant: test ratings ≥ `LIKED`)."""
    u, i, values = _pairs(p, "test")
    lo, hi = float(p.train_ratings.values.min()), float(p.train_ratings.values.max())
    error = x[0, u, i].detach().double().clamp(lo, hi) - values.double()
    out = {"rmse": float(error.square().mean().sqrt()), "mae": float(error.abs().mean())}
    if ranked:
        liked = values >= LIKED
        relevant = torch.zeros_like(p.mask)
        relevant[u[liked], i[liked]] = True
        ranking = x[0].detach()
        for key, metric in zip(RANKING, (recall_at_k, ndcg_at_k), strict=True):
            out[key] = float(metric(ranking, relevant, TOP_N, exclude=p.mask))
    return out


def rmse_observed(x: Tensor, target: Tensor) -> float:
    """RMSE over the entries of ``target`` that are not NaN."""
    seen = ~torch.isnan(target)
    return float((x[seen] - target[seen]).square().mean().sqrt())


def iterate(
    algorithm: Algorithm, y: Tensor, A: Any, iterations: int, score: Callable[[Tensor], float]
) -> list[float]:
    """``score`` of the estimate after each of ``iterations`` classical iterations (no trace is
    kept: a rating matrix per iteration would not fit)."""
    values = algorithm.defaults(A)
    state = algorithm.init(y, A)
    out = []
    with torch.no_grad():
        for t in range(iterations):
            state = algorithm.update(state, y, A, Layer(values, t))
            out.append(score(algorithm.output(state)))
    return out


__all__ = ["LIKED", "RANKING", "TOP_N", "iterate", "rmse_observed", "scores"]
