"""The recommendation helpers: baseline biases, truncated SVD, biased MF by SGD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled.data import RatingCompletion, synthetic_ratings
from unrolled.recsys import (
    cosine_basis,
    fit_biased_mf,
    observed_mean,
    rating_biases,
    subspace_svd,
)


def problem(seed=0):
    return RatingCompletion(synthetic_ratings(120, 200, density=0.1, seed=seed), seed=seed)


def test_biases_solve_their_ridge_equations():
    p = problem()
    y, A = p.inputs()
    W = A.gram(torch.ones_like(y))
    mu, b, c = rating_biases(y.double(), W.double(), 15.0, 10.0, sweeps=200)
    assert torch.isclose(mu, observed_mean(y, W).double()).all()
    r = W * (y - mu[:, None, None] - b[:, :, None] - c[:, None, :])
    # stationary: Σ_i (r_ui) = λ_u b_u and Σ_u r_ui = λ_i c_i
    torch.testing.assert_close(r.sum(-1), 15.0 * b, atol=1e-8, rtol=0)
    torch.testing.assert_close(r.sum(-2), 10.0 * c, atol=1e-8, rtol=0)


def test_subspace_svd_finds_the_top_singular_triplets():
    g = torch.Generator().manual_seed(0)
    U0 = torch.linalg.qr(torch.randn(40, 5, generator=g, dtype=torch.float64)).Q
    V0 = torch.linalg.qr(torch.randn(60, 5, generator=g, dtype=torch.float64)).Q
    M = (U0 * torch.tensor([9.0, 7, 5, 3, 1], dtype=torch.float64)) @ V0.T
    M = M + 1e-3 * torch.randn(40, 60, generator=g, dtype=torch.float64)
    U, s, V = subspace_svd(M[None], cosine_basis(60, 3, M), iterations=30)
    exact = torch.linalg.svd(M)
    torch.testing.assert_close(s[0], exact.S[:3], rtol=1e-8, atol=0)
    torch.testing.assert_close(
        (U[0] * s[0]) @ V[0].T, (exact.U[:, :3] * exact.S[:3]) @ exact.Vh[:3]
    )
    torch.testing.assert_close(V[0].T @ V[0], torch.eye(3, dtype=torch.float64))


def test_cosine_basis_is_orthonormal():
    C = cosine_basis(50, 7, torch.zeros(1))
    torch.testing.assert_close(C.T @ C, torch.eye(7), atol=1e-5, rtol=0)


def test_biased_mf_beats_the_global_mean_and_repeats_with_its_seed():
    p = problem()
    t, s = p.train_ratings, p.test_ratings
    model = fit_biased_mf(t.users, t.items, t.values, t.shape, factors=10, epochs=15, seed=1)
    rmse = np.sqrt(np.mean((model.predict(s.users, s.items) - s.values) ** 2))
    baseline = np.sqrt(np.mean((t.values.mean() - s.values) ** 2))
    assert rmse < 0.9 * baseline
    again = fit_biased_mf(t.users, t.items, t.values, t.shape, factors=10, epochs=15, seed=1)
    np.testing.assert_array_equal(again.P, model.P)
    with pytest.raises(ValueError, match="values: expected at least one"):
        fit_biased_mf(t.users[:0], t.items[:0], t.values[:0], t.shape)
