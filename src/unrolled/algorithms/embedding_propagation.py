"""LightGCN's propagation of item embeddings on the item graph, with a user as its history."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Rule, register
from ..core.checks import positive_int
from ..ops import as_dense


class EmbeddingPropagationState(NamedTuple):
    items: Tensor  # (I, d) P̃^k E, the item embeddings k hops on
    item_sum: Tensor  # (I, d) Σ_{j≤k} a_j P̃^j E, the items' layer sum
    x: Tensor  # (B, I) s · (y G)(G)ᵀ with G the layer sum, the scores so far


def embedding_size(A: Any, dim: int) -> int:
    """``min(dim, I)``: an embedding holds at most the graph's whole spectrum."""
    return min(dim, int(A.in_shape[0]))


def spectral_embedding(A: Any, dim: int) -> Tensor:
    """The ``min(dim, I)`` leading eigenvectors of the item graph ``P̃`` (the operator's
    matrix, `unrolled.recsys.item_graph`) as ``(I, d)`` float64 columns, largest eigenvalue first:
    the smoothest item signals on the graph, what GF-CF's ideal low-pass filter keeps (Shen et
    al. 2021). A dense eigendecomposition, O(I³) once per network."""
    P = as_dense(A)
    _, vectors = torch.linalg.eigh((P + P.mT) / 2)
    return vectors[:, -embedding_size(A, dim) :].flip(-1).contiguous()


def _embedding(dim: int) -> Param:
    """The ``embedding`` Param of d = ``dim``: the graph's leading eigenvectors by default."""
    return Param(
        Rule(lambda A: spectral_embedding(A, dim), f"the {dim} leading eigenvectors of P̃"),
        shape=lambda A: (int(A.in_shape[0]), embedding_size(A, dim)),
        doc="E (I, d): the item embeddings",
    )


@register("embedding-propagation")
class EmbeddingPropagation(Algorithm):
    """LightGCN's layer (He et al. 2020, Eq. 7–8) on the item graph ``P̃``
    (`unrolled.recsys.item_graph`, the operator ``A``: ``A(t) = t P̃``), item embeddings ``E``
    ``(I, d)`` and a user represented by its history ``y``, one pair of propagation hops
    (item → user → item) per iteration:

        F_k = P̃ F_{k−1},   G_k = G_{k−1} + a_k F_k,   x_k = s · (y G_k) G_kᵀ,   F_0 = G_0 = E

    so after K iterations the scores are ``x = s · y S E Eᵀ S``, ``S = I + Σ_{k=1}^{K} a_k P̃^k``:
    LightGCN's inner product of the user's and the item's layer sums (layer 0 weighs 1: the
    scale s stands for a common factor). A user's layer sum is ``y S E = y G``, its items' sum
    (P̃ is symmetric), so the history itself is never propagated: a layer costs one ``(I, I)``
    by ``(I, d)`` product, and the scores ``(B, d)`` by ``(d, I)``.

    One iteration is two of LightGCN's layers on the bipartite graph (item → user → item):
    the paper's 3 layers are K = 1 here (a user's layers 1 and 3, an item's 0 and 2), without
    the terms a user's own free embedding would add. With ``E`` the leading
    eigenvectors of ``P̃`` (the default, `spectral_embedding`) it is the spectral filter
    ``(1 + Σ_k a_k λ^k)²`` on the ``d`` smoothest item signals; with ``d = I`` a polynomial
    filter of ``P̃`` of degree 2K.

    Departures from the paper: a user has no free embedding of its own (its layer 0); it is
    the sum of its items' (``y E``), so a user unseen in training is scored from its history
    (an inductive model, as the graph filters), and the layer weights ``a_k`` may be learned
    (the paper fixes them to 1/(K+1)).

    Params: ``embedding`` E ``(I, d)``; ``weight`` a_k, the k-th layer's weight (1: the
    paper's, up to a scale no ranking sees); ``scale`` s, the scores' scale (the ranking loss's
    temperature, learned in log space).

    Args:
        dim: the embedding size d, LightGCN's 64 by default; a graph of fewer items gets
            d = I (its whole spectrum).

    Shapes: ``y`` (B, I) a user's interactions (0/1), ``x`` (B, I) item scores.
    """

    embedding = _embedding(64)
    weight = Param(1.0, doc="a_k, the weight of the k-th layer in the layer sums")
    scale = Param(1.0, log=True, doc="s, the scale of the scores (a ranking ignores it)")

    def __init__(self, dim: int = 64, **overrides: Any) -> None:
        self.dim = positive_int(dim, "dim")
        super().__init__(**{k: v for k, v in overrides.items() if k != "embedding"})
        spec = _embedding(self.dim)  # sized by dim: the class's own is LightGCN's 64
        default = overrides.get("embedding", spec.default)
        self.params["embedding"] = spec.with_default(default, "embedding")

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> EmbeddingPropagationState:
        p = Layer(self.defaults(A), 0) if p is None else p
        E = p.embedding
        return EmbeddingPropagationState(E, E, p.scale * (y @ E) @ E.mT)

    def update(
        self, state: EmbeddingPropagationState, y: Tensor, A: Any, p: Layer
    ) -> EmbeddingPropagationState:
        items = A(state.items.mT).mT  # P̃ F: P̃ is symmetric, and A multiplies rows by it
        item_sum = state.item_sum + p.weight * items
        return EmbeddingPropagationState(items, item_sum, p.scale * (y @ item_sum) @ item_sum.mT)
