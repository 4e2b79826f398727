"""Shared fixtures: small seeded inverse problems."""

from __future__ import annotations

import os

import pytest
import torch

import unrolled as ur

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each xdist worker takes one core: two workers with two threads each run 2x slower.
    torch.set_num_threads(1)


def sparse_problem(
    m: int = 20, n: int = 40, batch: int = 8, dtype: torch.dtype = torch.float64, seed: int = 0
) -> tuple[ur.Matrix, torch.Tensor, torch.Tensor]:
    """A small sparse-recovery problem: (A, x, y) with y = A x + small noise."""
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(m, n, generator=g, dtype=dtype) / m**0.5
    x = torch.randn(batch, n, generator=g, dtype=dtype)
    x = x * (torch.rand(batch, n, generator=g, dtype=x.real.dtype) < 0.2)
    A = ur.Matrix(M)
    y = A(x) + 0.01 * torch.randn(batch, m, generator=g, dtype=dtype)
    return A, x, y


def emission_problem(
    m: int = 30, n: int = 20, batch: int = 4, dtype: torch.dtype = torch.float64, seed: int = 0
) -> tuple[ur.Matrix, torch.Tensor, torch.Tensor]:
    """A small emission problem: (A, x, y), ``A`` a positive system matrix (each row mostly
    through a few pixels; every row sees every pixel a little, so every subset of rows does),
    ``x`` a positive activity, ``y ~ Poisson(A x)`` counts."""
    if dtype.is_complex:
        pytest.skip("counts are real")
    g = torch.Generator().manual_seed(seed)
    M = torch.rand(m, n, generator=g, dtype=dtype) * (torch.rand(m, n, generator=g) < 0.4) + 0.05
    x = 5 * torch.rand(batch, n, generator=g, dtype=dtype) + 1
    A = ur.Matrix(M)
    return A, x, torch.poisson(A(x), generator=g)


def mimo_problem(
    m: int = 8, n: int = 4, batch: int = 8, dtype: torch.dtype = torch.float64, seed: int = 0
) -> tuple[ur.comms.Channel, torch.Tensor, torch.Tensor]:
    """A small MIMO detection problem at 8 dB: (A, x, y), ``A`` a `Channel` of ``dtype`` (QPSK
    symbols when complex, their real-equivalent levels ±1/√2 when real)."""
    g = torch.Generator().manual_seed(seed)
    c = ur.comms.Constellation("qpsk")
    H = ur.comms.rayleigh(batch, m, n, g, dtype)
    x, _ = c.random((batch, n), g, torch.complex128)
    x = (x if dtype.is_complex else x.real).to(dtype)
    y = ur.comms.awgn((H @ x.unsqueeze(-1)).squeeze(-1), 8.0, g)
    return ur.comms.Channel(H, ur.comms.noise_variance(8.0).item()), x, y


def ratings_problem(
    m: int = 12, n: int = 16, batch: int = 2, dtype: torch.dtype = torch.float64, seed: int = 0
) -> tuple[ur.ops.Inpainting, torch.Tensor, torch.Tensor]:
    """A small matrix-completion problem: (A, x, y), ``x`` ``(B, m, n)`` ratings around 3 of
    rank 3, ``A`` the `Inpainting` of a random half of the entries (every row and column
    keeps one), ``y = A x``."""
    if dtype.is_complex:
        pytest.skip("ratings are real")
    g = torch.Generator().manual_seed(seed)
    P = torch.randn(batch, m, 3, generator=g, dtype=dtype)
    Q = torch.randn(batch, n, 3, generator=g, dtype=dtype)
    x = 3 + 0.5 * P @ Q.mT + 0.1 * torch.randn(batch, m, n, generator=g, dtype=dtype)
    mask = torch.rand(batch, m, n, generator=g) < 0.5
    mask[:, torch.arange(m), torch.arange(m) % n] = True
    mask[:, torch.arange(n) % m, torch.arange(n)] = True
    A = ur.ops.Inpainting(mask, (m, n), dtype)
    return A, x, A(x)


def graph_problem(
    m: int = 12, n: int = 16, batch: int = 2, dtype: torch.dtype = torch.float64, seed: int = 0
) -> tuple[ur.Matrix, torch.Tensor, torch.Tensor]:
    """A small implicit-feedback ranking problem: (A, x, y), ``A`` the item graph
    (`unrolled.recsys.item_graph`) of ``3m`` users' random interactions with ``n`` items,
    ``y`` ``(B, n)`` the interactions of ``batch`` of them and ``x`` other items they took."""
    if dtype.is_complex:
        pytest.skip("interactions are real")
    g = torch.Generator().manual_seed(seed)
    R = (torch.rand(3 * m, n, generator=g) < 0.3).to(dtype)
    A = ur.recsys.item_graph(R)
    x = ((torch.rand(batch, n, generator=g) < 0.2) & (R[:batch] == 0)).to(dtype)
    return A, x, R[:batch].clone()


@pytest.fixture
def one_thread():
    """Tiny problems: one thread avoids oversubscribing a busy machine (10x faster there)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def problem() -> tuple[ur.Matrix, torch.Tensor, torch.Tensor]:
    return sparse_problem()
