"""A polynomial graph filter on the item graph: multi-hop propagation of a user's history."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, register


class GraphFilterState(NamedTuple):
    term: Tensor  # (B, I) y P̃^k, the k-hop propagation
    x: Tensor  # (B, I) the scores so far, Σ_{j≤k} c_j y P̃^j


@register("graph-filter")
class GraphFilter(Algorithm):
    """The polynomial graph filter ``x = s · Σ_{k=1}^{K} c_k · y P̃^k``, one power of the item
    graph ``P̃`` (`unrolled.recsys.item_graph`, the operator ``A``: ``A(t) = t P̃``) per
    iteration:

        t_k = A(t_{k−1}),   x_k = x_{k−1} + s c_k t_k,   t_0 = y,  x_0 = 0

    With ``c_k = 1`` the series of the propagations LightGCN sums over its layers (He et al.
    2020, Eq. 8, without embeddings); ``K = 1`` is GF-CF's linear filter (Shen et al. 2021). The
    scores rank the items a user has not seen: those ``2k`` hops from its history in the
    user–item graph count with weight ``c_k``.

    Params: ``coefficient`` c_k; ``scale`` s, 1 classically: a ranking does not see it, but a
    learned filter trained with the softmax loss needs it as that loss's temperature (learned
    in log space, tied across layers), so that the c_k only have to learn the filter's shape.

    Shapes: ``y`` (B, I) a user's interactions (0/1), ``x`` (B, I) item scores.
    """

    coefficient = Param(1.0, doc="c_k, the weight of the k-hop propagation")
    scale = Param(1.0, log=True, doc="s, the scale of the scores (a ranking ignores it)")

    def init(self, y: Tensor, A: Any) -> GraphFilterState:
        return GraphFilterState(y, torch.zeros_like(y))

    def update(self, state: GraphFilterState, y: Tensor, A: Any, p: Layer) -> GraphFilterState:
        term = A(state.term)
        return GraphFilterState(term, state.x + (p.scale * p.coefficient) * term)
