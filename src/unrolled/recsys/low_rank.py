"""Truncated SVD by warm-started subspace iteration, the low-rank engine of soft-impute and of
the ALS start."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def cosine_basis(n: int, k: int, like: Tensor) -> Tensor:
    """``(n, k)`` orthonormal columns ``cos(π (j + ½)(c + ½) / n)`` (DCT-II), normalised: a fixed,
    data-independent start for subspace iteration, so that a classical run and an unrolled
    network start identically without a random generator."""
    j = torch.arange(n, dtype=like.real.dtype, device=like.device)[:, None]
    c = torch.arange(k, dtype=like.real.dtype, device=like.device)[None, :]
    return torch.cos(math.pi * (j + 0.5) * (c + 0.5) / n) * math.sqrt(2.0 / n)


def orthonormal_basis(X: Tensor) -> Tensor:
    """``Q`` of the thin QR of ``X + ε C`` (``X`` ``(B, n, k)``, ``k ≤ n``): orthonormal columns
    spanning the columns of ``X``. ``C`` is `cosine_basis` and ε the dtype's machine epsilon: a
    floor that changes nothing measurable yet keeps the basis, and the QR's gradient, defined
    when ``X`` is rank-deficient (an all-zero rating matrix)."""
    floor = torch.finfo(X.real.dtype).eps * cosine_basis(X.shape[-2], X.shape[-1], X)
    return torch.linalg.qr(X + floor).Q


def subspace_svd(M: Tensor, V: Tensor, iterations: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """The rank-k truncated SVD ``M ≈ U diag(s) Vᴴ`` from the right subspace ``V``, by
    ``iterations`` steps of subspace (block power) iteration (Halko, Martinsson & Tropp 2011,
    Alg. 4.3 without the random start): ``Q = orth(M V)`` and, between steps,
    ``V = orth(Mᴴ Q)``; then the small SVD of ``Qᴴ M``. Warm-started from the previous
    iterate's ``V``, one step per iteration tracks a slowly changing matrix (soft-impute's
    warm starts, Mazumder et al. 2010 §5).

    Args:
        M: ``(B, m, n)``.
        V: ``(B, n, k)`` or ``(n, k)``, ``k ≤ min(m, n)``.
        iterations: power steps (≥ 1).

    Returns:
        ``U`` ``(B, m, k)``, ``s`` ``(B, k)`` descending, ``V`` ``(B, n, k)`` orthonormal.
    """
    for step in range(iterations):
        Q = torch.linalg.qr(M @ V).Q
        if step + 1 < iterations:
            V = torch.linalg.qr(M.mH @ Q).Q
    Ub, s, Vh = torch.linalg.svd(Q.mH @ M, full_matrices=False)
    return Q @ Ub, s, Vh.mH


__all__ = ["cosine_basis", "orthonormal_basis", "subspace_svd"]
