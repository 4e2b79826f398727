"""The item–item graph of implicit feedback that graph collaborative filtering propagates on.

From a user–item interaction matrix ``R`` ``(U, I)`` (1 where a user interacted), the
normalised bipartite adjacency ``R̃ = D_U^{-1/2} R D_I^{-1/2}`` (``D`` the degrees) gives the
item–item graph ``P̃ = R̃ᵀR̃`` ``(I, I)``, symmetric with eigenvalues in ``[0, 1]``. A user's row
of interactions ``r`` ``(I,)`` propagated ``k`` times, ``r P̃^k``, scores the items ``k`` hops
away in the user–item graph (``2k`` hops: item, user, item, …): LightGCN's layers (He et al.
2020), personalised PageRank (APPNP, Klicpera et al. 2019) and GF-CF's linear filter (Shen et
al. 2021) are polynomials or series of this matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..ops import Matrix


def item_graph(interactions: Tensor) -> Matrix:
    """``P̃ = R̃ᵀR̃`` as an operator on rows of item scores (``x ↦ x P̃``), from the ``(U, I)``
    0/1 interactions of the training users; users and items without interactions get zero
    rows (no division by zero).

    Raises:
        ValueError: ``interactions`` is not a 2-D real tensor of zeros and ones.
    """
    R = check_interactions(interactions)
    users, items = R.sum(1), R.sum(0)
    R_tilde = R * _inverse_sqrt(users)[:, None] * _inverse_sqrt(items)[None, :]
    return Matrix(R_tilde.mT @ R_tilde)


def check_interactions(interactions: Tensor) -> Tensor:
    """``interactions`` itself, once checked to be a ``(users, items)`` float 0/1 tensor.

    Raises:
        ValueError: it is not.
    """
    R = interactions
    if not isinstance(R, Tensor) or R.ndim != 2 or R.is_complex() or not R.is_floating_point():
        got = tuple(R.shape) if isinstance(R, Tensor) else type(R).__name__
        raise ValueError(f"interactions: expected a (users, items) float 0/1 tensor, got {got}")
    if not bool(((R == 0) | (R == 1)).all()):
        raise ValueError("interactions: expected zeros and ones (implicit feedback)")
    return R


def _inverse_sqrt(degree: Tensor) -> Tensor:
    return torch.where(degree > 0, degree.clamp_min(1).rsqrt(), torch.zeros_like(degree))


__all__ = ["item_graph"]
