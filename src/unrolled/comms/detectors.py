"""Classical MIMO detectors that are not iterations: ZF, MMSE (LMMSE), exact maximum likelihood
by exhaustive search, and the sphere decoder (exact ML, depth-first).

The iterative ones (AMP, OAMP) are algorithms: `unrolled.algorithms.MIMOAMP`,
`unrolled.algorithms.OAMP`.

Shapes: ``y`` ``(B, m)``, ``A`` a `Channel` with ``H`` ``(B, m, n)``; linear detectors return
``x̂`` ``(B, n)`` (slice it with `Constellation.nearest`); ML detectors return symbol indices
``(B, n)`` int64.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import Tensor

from .channel import Channel
from .constellation import Constellation


def _check(y: Tensor, A: Channel) -> None:
    if not isinstance(A, Channel):
        raise TypeError(f"A: expected a unrolled.comms.Channel, got {type(A).__name__}")
    A._check(y, "y", A.out_shape)


def zero_forcing(y: Tensor, A: Channel) -> Tensor:
    """ZF: the least-squares solution ``x̂ = (HᴴH)⁻¹Hᴴy`` (m ≥ n; the pseudo-inverse)."""
    _check(y, A)
    return torch.linalg.lstsq(A.M, y.unsqueeze(-1)).solution.squeeze(-1)


def mmse(y: Tensor, A: Channel, energy: float = 1.0) -> Tensor:
    """LMMSE: ``x̂ = (HᴴH + (N0/Es) I)⁻¹ Hᴴy``, with ``N0`` the channel's ``noise_var`` and
    ``Es`` the symbol ``energy`` (1 for our constellations)."""
    _check(y, A)
    H = A.M
    n = H.shape[-1]
    G = H.mH @ H + (A.noise_var / energy).to(H.dtype)[:, None, None] * torch.eye(
        n, dtype=H.dtype, device=H.device
    )
    return torch.linalg.solve(G, A.adjoint(y).unsqueeze(-1)).squeeze(-1)


def _candidates(constellation: Constellation, n: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    grid = torch.tensor(list(itertools.product(range(constellation.size), repeat=n)))
    return constellation.symbols(grid, dtype), grid


def maximum_likelihood(
    y: Tensor, A: Channel, constellation: Constellation, chunk: int = 2**22
) -> Tensor:
    """Exact ML by exhaustive search: ``argmin_{x ∈ 𝒳ⁿ} ‖y − Hx‖²`` over all Mⁿ candidates,
    vectorised over the batch and the candidates (``chunk`` bounds the number of residual
    entries held at once). Feasible for Mⁿ up to about 10⁵ (4×4 16-QAM is 65536).

    Returns the symbol indices ``(B, n)``.
    """
    _check(y, A)
    H = A.M
    B, m, n = H.shape
    count = constellation.size**n
    if count > 2**20:
        raise ValueError(
            f"constellation: exhaustive ML over {constellation.size}^{n} = {count} candidates is "
            f"too many; use sphere_decoder"
        )
    X, grid = _candidates(constellation, n, H.dtype)  # (K, n)
    best = torch.full((B,), math.inf, dtype=y.real.dtype, device=y.device)
    arg = torch.zeros(B, dtype=torch.int64, device=y.device)
    step = max(1, chunk // max(1, B * m))
    X = X.to(y.device)
    for start in range(0, count, step):
        Xc = X[start : start + step]  # (k, n)
        r = y.unsqueeze(1) - torch.einsum("bmn,kn->bkm", H, Xc)
        d = r.abs().square().sum(-1)  # (B, k)
        dmin, amin = d.min(dim=1)
        better = dmin < best
        best = torch.where(better, dmin, best)
        arg = torch.where(better, amin + start, arg)
    return grid.to(y.device)[arg]


def sphere_decoder(y: Tensor, A: Channel, constellation: Constellation) -> Tensor:
    """Exact ML by the Schnorr–Euchner sphere decoder (Agrell et al. 2002) on the real-valued
    equivalent: ``‖y − Hx‖² = ‖Qᵀy − Rx‖² + const`` with ``H = QR``, a depth-first search from
    the last real dimension, children visited nearest-first, the radius shrinking to each leaf
    found. Its first leaf is the Babai (successive-cancellation) point, so it always finishes,
    but its run time grows exponentially at low SNR.

    Needs ``m ≥ n`` (real dimensions). Runs per sample on the CPU; returns symbol indices
    ``(B, n)``, equal to `maximum_likelihood`'s up to exact ties.
    """
    _check(y, A)
    real = A.real()
    H = real.M.detach().cpu().double().numpy()
    yr = y.detach().cpu()
    yr = (torch.cat([yr.real, yr.imag], -1) if y.is_complex() else yr).double().numpy()
    B, m, n = H.shape
    if m < n:
        raise ValueError(f"A: the sphere decoder needs m ≥ n real dimensions, got {m}×{n}")
    levels = constellation.pam.double().numpy()
    out = np.empty((B, n), dtype=np.int64)
    for b in range(B):
        Q, R = np.linalg.qr(H[b])
        out[b] = _search(Q.T @ yr[b], R, levels)
    idx = torch.from_numpy(out)
    if constellation.is_complex:
        half = n // 2
        idx = idx[:, :half] * levels.size + idx[:, half:]
    return idx.to(y.device)


def _search(z: np.ndarray, R: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Depth-first Schnorr–Euchner search for ``argmin_x ‖z − Rx‖²``, ``x`` on ``levels`` per
    entry, ``R`` upper triangular ``(n, n)``. Returns level indices ``(n,)``."""
    n = R.shape[0]
    best_d, best = math.inf, np.zeros(n, dtype=np.int64)
    x = np.zeros(n)
    idx = np.zeros(n, dtype=np.int64)
    # per level k: the children still to visit (level indices, nearest first) and the distance
    # accumulated above it
    order: list[list[int]] = [[] for _ in range(n)]
    partial = np.zeros(n + 1)
    k = n - 1

    def children(k: int) -> list[int]:
        center = (z[k] - R[k, k + 1 :] @ x[k + 1 :]) / R[k, k]
        return list(np.argsort(np.abs(levels - center)))

    order[k] = children(k)
    while True:
        if not order[k]:
            k += 1
            if k == n:
                return best
            continue
        i = order[k].pop(0)
        x[k] = levels[i]
        idx[k] = i
        e = z[k] - R[k, k:] @ x[k:]
        d = partial[k + 1] + e * e
        if d >= best_d:  # children come nearest-first: the rest at this level are further
            order[k] = []
            continue
        if k == 0:
            best_d, best = d, idx.copy()
            continue
        partial[k] = d
        k -= 1
        order[k] = children(k)
