"""LightGCN unrolled: learned item embeddings propagated on the item graph, BPR-trained."""

from __future__ import annotations

from typing import Any

from ..algorithms.embedding_propagation import EmbeddingPropagation
from ..core import register, unroll
from ._common import annealed_recipe

#: The recipe (`unrolled.Recipe`): LightGCN's BPR loss with one sampled negative per held-out
#: item and Adam at 1e-3 (He et al. 2020's rate, their batch of 2048 interactions about 256
#: users' held-out items here), annealed by a cosine to the last step (as graph-filter-net: one
#: held-out item per validation user is too noisy to restore a best step by).
RECIPE = annealed_recipe(
    loss="bpr",
    lr=1e-3,
    batch_size=256,
    restore_best=False,
    notes="BPR, one sampled negative per held-out item, Adam 1e-3 (He et al. 2020) annealed",
)


@register("lightgcn", recipe=RECIPE)
def lightgcn(operator: Any = None, layers: int = 1, dim: int = 64, backprop: str = "full") -> Any:
    """LightGCN (He et al. 2020) as the unrolled network it is:
    `unrolled.algorithms.EmbeddingPropagation`, K propagation layers on the item graph ``P̃``,
    with the item embeddings ``E`` ``(I, d)``, the layer weights ``a_k`` and the score scale s
    learned:

        x = s · (y S E)(S E)ᵀ,   S = I + Σ_{k=1}^{K} a_k P̃^k

    the inner product of a user's layer sum and each item's. Untrained, ``E`` holds the ``d``
    leading eigenvectors of ``P̃`` and ``a_k = 1``: the classical propagation, a low-pass
    spectral filter of the history. Trained by BPR (its recipe), as the paper.

    Departures from the paper: a user is its history (``y E``, its layer 0), not a free
    embedding, so users unseen in training are scored (inductive, as the graph filters); the
    embeddings start at the graph's eigenvectors rather than at random (Xavier), which makes the
    untrained network a classical filter; the layer weights are learned rather than fixed at
    1/(K+1); no L2 penalty on the embeddings.

    Args:
        operator: the item graph (`unrolled.data.ImplicitRanking.operator`).
        layers: K, the hops on the item graph; each is two of the paper's layers on the
            bipartite graph, so the default 1 is its 3 (a user's layers 1 and 3, an item's 0
            and 2).
        dim: d, the embedding size (the paper's 64); a graph of fewer items gets d = I.
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.ImplicitRanking`.
    """
    if operator is not None and tuple(operator.in_shape or ()) != tuple(operator.out_shape or ()):
        raise ValueError(
            f"operator: lightgcn propagates on a square item graph "
            f"(unrolled.recsys.item_graph), got {operator!r}"
        )
    return unroll(
        EmbeddingPropagation(dim),
        layers,
        learn=("embedding", "weight", "scale"),
        tied=("embedding", "scale"),
        operator=operator,
        backprop=backprop,
    )


__all__ = ["lightgcn"]
