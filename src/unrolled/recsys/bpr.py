"""Matrix factorisation trained by Bayesian personalised ranking (BPR-MF; Rendle et al. 2009):
the standard learned top-N baseline on implicit feedback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.checks import positive_int
from .graph import check_interactions


@dataclass
class BPRMF:
    """Scores ``x̂_ui = p_uᵀ q_i``; `fit_bpr_mf` trains one.

    Attributes:
        P: ``(U, d)`` the user factors.  Q: ``(I, d)`` the item factors.
    """

    P: Tensor
    Q: Tensor

    def scores(self, users: Tensor) -> Tensor:
        """``(B, I)`` the scores of every item for the users ``users`` ``(B,)`` (indices)."""
        return self.P[users] @ self.Q.mT


def sample_negatives(R: Tensor, users: Tensor, generator: torch.Generator) -> Tensor:
    """``(B,)`` one item per user of ``users`` ``(B,)`` drawn uniformly among the items that
    user has not interacted with in ``R`` ``(U, I)`` (drawn on ``R``'s device, redrawn where a
    draw hits an interaction). Every user needs at least one item it has not interacted with."""
    items = torch.randint(R.shape[1], users.shape, generator=generator, device=R.device)
    hit = R[users, items] > 0
    while bool(hit.any()):
        redraw = torch.randint(R.shape[1], users.shape, generator=generator, device=R.device)
        items = torch.where(hit, redraw, items)
        hit = R[users, items] > 0
    return items


def fit_bpr_mf(
    interactions: Tensor,
    factors: int = 64,
    epochs: int = 200,
    lr: float = 1e-3,
    reg: float = 1e-4,
    batch_size: int = 2048,
    init_std: float = 0.1,
    seed: int = 0,
    validate: Callable[[BPRMF], float] | None = None,
    every: int = 10,
) -> BPRMF:
    """BPR-MF as LightGCN's authors train their MF baseline (He et al. 2020, code
    ``gusye/LightGCN-PyTorch``): factors from N(0, init_std²), Adam at ``lr``, each epoch one
    (user, positive item, negative item) triple per training interaction in batches of
    ``batch_size``, minimising

        −log σ(p_uᵀq_i − p_uᵀq_j) + reg · (‖p_u‖² + ‖q_i‖² + ‖q_j‖²) / 2

    averaged over the batch, the negative ``j`` uniform among the items ``u`` has not
    interacted with (`sample_negatives`, on the device).

    Args:
        interactions: ``(U, I)`` 0/1 float tensor, the training interactions; the factors live
            on its device.
        factors, epochs, lr, reg, batch_size, init_std: as above.
        seed: the initialisation and the sampling.
        validate: ``validate(model) -> score`` (higher is better), called every ``every``
            epochs and at the end; the factors of the best score are returned (early stopping
            as the LightGCN code does it). None: the last epoch's factors.
        every: epochs between validations.

    Raises:
        ValueError: bad ``interactions`` or sizes, or a user who interacted with every item.
    """
    R = check_interactions(interactions)
    factors, epochs = positive_int(factors, "factors"), positive_int(epochs, "epochs")
    batch_size, every = positive_int(batch_size, "batch_size"), positive_int(every, "every")
    users, items = R.nonzero(as_tuple=True)
    if len(users) == 0:
        raise ValueError("interactions: expected at least one interaction, got none")
    if bool((R.sum(1) == R.shape[1]).any()):
        raise ValueError("interactions: a user interacted with every item; BPR has no negative")
    g = torch.Generator(R.device).manual_seed(seed)
    P = (torch.randn(R.shape[0], factors, generator=g, device=R.device) * init_std).requires_grad_()
    Q = (torch.randn(R.shape[1], factors, generator=g, device=R.device) * init_std).requires_grad_()
    optimiser = torch.optim.Adam([P, Q], lr=lr)
    best: tuple[float, BPRMF] | None = None
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(users), generator=g, device=R.device)
        for batch in order.split(batch_size):
            u, i = users[batch], items[batch]
            j = sample_negatives(R, u, g)
            p, q_i, q_j = P[u], Q[i], Q[j]
            margin = (p * (q_i - q_j)).sum(1)
            penalty = (p.square().sum(1) + q_i.square().sum(1) + q_j.square().sum(1)) / 2
            loss = (-F.logsigmoid(margin) + reg * penalty).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        if validate is not None and (epoch % every == 0 or epoch == epochs):
            model = BPRMF(P.detach().clone(), Q.detach().clone())
            score = validate(model)
            if best is None or score > best[0]:
                best = (score, model)
    return best[1] if best is not None else BPRMF(P.detach(), Q.detach())


__all__ = ["BPRMF", "fit_bpr_mf", "sample_negatives"]
