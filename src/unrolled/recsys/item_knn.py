"""Item-based k-nearest-neighbour collaborative filtering (Sarwar et al. 2001; Deshpande &
Karypis 2004): the classical top-N baseline that graph filtering generalises."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.checks import positive_int
from .graph import check_interactions


def item_knn(interactions: Tensor, neighbours: int = 100) -> Tensor:
    """The item–item cosine similarity of the ``(U, I)`` 0/1 ``interactions``, each item's
    column kept to its ``neighbours`` most similar other items (the rest zero):

        S_ij = r_iᵀ r_j / (‖r_i‖ ‖r_j‖)   (r_i the users of item i),   S_ii = 0

    A user's history ``y`` ``(B, I)`` scores the items as ``y S`` ``(B, I)``: each item the
    summed similarity to the items the user interacted with, over its neighbourhood (Deshpande
    & Karypis 2004, without their row normalisation).

    Args:
        interactions: ``(U, I)`` 0/1 float tensor, the training interactions.
        neighbours: k, the neighbourhood of each item (``neighbours >= I``: all of them).

    Returns:
        S ``(I, I)``, on the device and dtype of ``interactions``.

    Raises:
        ValueError: ``interactions`` is not a 0/1 matrix, or ``neighbours`` is not a positive int.
    """
    R = check_interactions(interactions)
    positive_int(neighbours, "neighbours")
    norms = R.sum(0).sqrt()
    unit = R / torch.where(norms > 0, norms, torch.ones_like(norms))
    S = unit.mT @ unit
    S.fill_diagonal_(0)
    if neighbours < S.shape[0]:
        # the k largest of each column j: item j's neighbours i, whose histories score it
        kept = S.topk(neighbours, dim=0).indices
        S = torch.zeros_like(S).scatter_(0, kept, S.gather(0, kept))
    return S


__all__ = ["item_knn"]
