"""The nuclear norm: singular-value thresholding is its prox, and its gradient is right and
finite where PyTorch's SVD gradient is not."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from unrolled.priors import NuclearNorm, singular_value_threshold

PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None)


def randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=str)
@PROPERTY
@given(
    m=st.integers(1, 6),
    n=st.integers(1, 6),
    tau=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**16),
    step=st.sampled_from([1e-4, 1e-2, 1.0]),
)
def test_svt_is_the_prox_of_the_nuclear_norm(dtype, m, n, tau, seed, step):
    """½‖X − V‖² + τ‖X‖_* is 1-strongly convex: at its minimiser P, f(P + D) ≥ f(P) + ½‖D‖²."""
    g = torch.Generator().manual_seed(seed)
    prior = NuclearNorm()
    V = 2 * torch.randn(1, m, n, generator=g, dtype=dtype)
    P = prior(V, tau)

    def f(X):
        return 0.5 * (X - V).abs().square().sum((-2, -1)) + tau * prior.value(X)

    D = step * torch.randn(16, m, n, generator=g, dtype=dtype)
    assert torch.all(f(P + D) - f(P) >= 0.5 * D.abs().square().sum((-2, -1)) - 1e-9)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 5, 3), (1, 4, 4)])
def test_svt_gradient_matches_finite_differences(shape):
    X = randn(*shape).requires_grad_()
    tau = torch.tensor([[0.7]] * shape[0], dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(singular_value_threshold, (X, tau))


def test_svt_gradient_is_finite_at_repeated_and_zero_singular_values():
    eye = torch.eye(3, 5, dtype=torch.float64)[None]
    for X in (torch.zeros(1, 3, 5, dtype=torch.float64), 2 * eye):
        X = X.clone().requires_grad_()
        tau = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        out = singular_value_threshold(X, tau)
        (out * randn(1, 3, 5)).sum().backward()
        assert torch.isfinite(X.grad).all() and torch.isfinite(tau.grad)
    # SVT is differentiable at repeated singular values above τ: the closed form is right there
    X = (2 * eye).requires_grad_()
    assert torch.autograd.gradcheck(lambda X: singular_value_threshold(X, 0.5), (X,))


def test_svt_thresholds_each_matrix_by_its_own_tau():
    X = randn(2, 4, 6)
    s = torch.linalg.svdvals(X)
    tau = (s[:, :1] + s[:, 1:2]) / 2  # between the first two: keeps only the top one of each
    out = singular_value_threshold(X, tau)
    torch.testing.assert_close(torch.linalg.svdvals(out)[:, 0], s[:, 0] - tau[:, 0])
    assert (torch.linalg.matrix_rank(out) == 1).all()


def test_svt_errors():
    with pytest.raises(ValueError, match="tau: expected a threshold >= 0"):
        singular_value_threshold(randn(1, 2, 2), -1.0)
    with pytest.raises(ValueError, match=r"X: expected matrices"):
        singular_value_threshold(randn(3), 0.1)
