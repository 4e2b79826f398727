"""Scoring top-N lists of implicit feedback (`unrolled.data.ImplicitRanking`): Recall and NDCG
at 10 and 20, and catalogue coverage, for any method that scores every item for every user."""

from __future__ import annotations

import torch
from torch import Tensor

from ..metrics import ndcg_metric, recall_metric

#: The list lengths scored.
LISTS = (10, 20)


def top_n(scores: Tensor, x: Tensor, k: int) -> Tensor:
    """``(B, k)`` the ``k`` best-scored items of each user, never one it has seen (NaN in
    ``x``)."""
    ranked = scores.detach().to(torch.float64).masked_fill(torch.isnan(x), -torch.inf)
    return ranked.topk(k, dim=1).indices


def ranking_scores(scores: Tensor, x: Tensor, lists: tuple[int, ...] = LISTS) -> dict[str, float]:
    """Recall@k and NDCG@k (`unrolled.metrics.recall_metric`, `ndcg_metric`) for each ``k`` of
    ``lists``, and ``coverage@k``: the fraction of the catalogue that appears in some user's
    top ``k`` (a method that shows everyone the same few items covers little).

    Args:
        scores: ``(B, I)`` item scores, higher first.
        x: ``(B, I)`` 1 at the held-out items, NaN at the seen ones, 0 elsewhere (the
            ``x`` of `unrolled.data.ImplicitRanking`'s validation or test).
    """
    if scores.shape != x.shape:
        raise ValueError(
            f"scores: expected the shape of x {tuple(x.shape)}, got {tuple(scores.shape)}"
        )
    out: dict[str, float] = {}
    for k in lists:
        out[f"recall@{k}"] = recall_metric(k)(scores, x)
        out[f"ndcg@{k}"] = ndcg_metric(k)(scores, x)
        out[f"coverage@{k}"] = len(torch.unique(top_n(scores, x, k))) / x.shape[1]
    return out


__all__ = ["LISTS", "ranking_scores", "top_n"]
