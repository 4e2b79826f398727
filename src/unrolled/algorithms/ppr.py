"""Personalised PageRank propagation on the item graph."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..core import Algorithm, Layer, Param, register


@register("ppr")
class PPRPropagation(Algorithm):
    """Personalised PageRank from a user's history on the item graph ``P̃``
    (`unrolled.recsys.item_graph`, the operator ``A``: ``A(x) = x P̃``), as APPNP propagates
    (Klicpera et al. 2019, Eq. 3):

        x_{k+1} = (1 − α) A(x_k) + α y,     x_0 = y

    It is gradient descent with step 1 on ``½ xᵀ(I − (1−α)P̃)x/α − xᵀy`` (a graph-smoothness
    objective anchored at the history), whose fixed point ``α y (I − (1−α)P̃)⁻¹`` the
    iterations approach geometrically at rate ``1 − α`` (the eigenvalues of ``P̃`` lie in [0, 1]).

    Params: ``teleport`` α (default 0.1, APPNP's).

    Shapes: ``y`` (B, I) a user's interactions (0/1), ``x`` (B, I) item scores.
    """

    teleport = Param(0.1, between=(0.0, 1.0), doc="α, the restart probability")

    def init(self, y: Tensor, A: Any) -> Tensor:
        return y

    def update(self, state: Tensor, y: Tensor, A: Any, p: Layer) -> Tensor:
        return (1 - p.teleport) * A(state) + p.teleport * y
