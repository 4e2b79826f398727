"""ALISTA: the analytic weight and the 2K learned scalars."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.models import ALISTAIteration, analytic_weight, generalized_coherence


def gaussian(m, n, seed=0, normalize=True):
    M = torch.randn(m, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    M = M / m**0.5
    return M / M.norm(dim=0) if normalize else M


def naive_weight(M):
    """A's columns scaled to a unit diagonal, a_i/‖a_i‖²: the weight ALISTA improves on."""
    return M / M.square().sum(0)


@pytest.mark.parametrize(("m", "n"), [(20, 40), (100, 200)])
@pytest.mark.parametrize("normalize", [True, False])
def test_analytic_weight_has_unit_diagonal_and_lower_coherence_than_a(m, n, normalize):
    """At the standard undersampling n = 2m (ALISTA's own setting, m = 250, n = 500)."""
    M = gaussian(m, n, normalize=normalize)
    W = analytic_weight(ur.Matrix(M))
    assert W.shape == (m, n) and W.dtype == torch.float64
    torch.testing.assert_close(torch.diagonal(W.mT @ M), torch.ones(n, dtype=torch.float64))
    assert generalized_coherence(W, M) < 0.9 * generalized_coherence(naive_weight(M), M)


@pytest.mark.parametrize(("m", "n"), [(20, 40), (50, 200)])
def test_refinement_keeps_the_diagonal_and_lowers_the_coherence(m, n):
    """The Frobenius solution minimises the mean, not the max: at n = 4m its μ̃ can exceed A's;
    the refinement lowers μ̃ below both."""
    M = gaussian(m, n)
    frobenius = generalized_coherence(analytic_weight(M), M)
    W = analytic_weight(M, steps=50)
    torch.testing.assert_close(torch.diagonal(W.mT @ M), torch.ones(n, dtype=torch.float64))
    mu = generalized_coherence(W, M)
    assert mu < 0.9 * frobenius and mu < 0.9 * generalized_coherence(naive_weight(M), M)


def test_frobenius_solution_is_the_least_squares_minimiser():
    """KKT: each column minimises ‖Aᵀw‖² on {aᵀw = 1}, so AAᵀw_i is parallel to a_i."""
    M = gaussian(20, 40)
    W = analytic_weight(M, steps=0)
    AAtW = M @ M.mT @ W
    scale = (AAtW * M).sum(0) / M.square().sum(0)
    torch.testing.assert_close(AAtW, M * scale, rtol=1e-9, atol=1e-10)
    # and any feasible perturbation raises ‖WᵀA‖_F
    g = torch.Generator().manual_seed(1)
    D = torch.randn(20, 40, generator=g, dtype=torch.float64)
    D = D - (D * M).sum(0) * M / M.square().sum(0)  # keeps diag(WᵀA) = 1
    assert (W + 1e-3 * D).mT.matmul(M).norm() > (W.mT @ M).norm()


def test_refinement_lowers_the_generalised_coherence():
    M = gaussian(50, 200)
    mu = [generalized_coherence(analytic_weight(M, steps=s), M) for s in (0, 20, 100)]
    assert mu[0] > mu[1] >= mu[2]
    assert mu[2] < 0.7 * mu[0]


def test_analytic_weight_when_a_has_full_column_rank_decorrelates_exactly():
    M = gaussian(30, 10)
    W = analytic_weight(M)
    torch.testing.assert_close(W.mT @ M, torch.eye(10, dtype=torch.float64), rtol=0, atol=1e-10)


def test_analytic_weight_keeps_dtype_and_rejects_zero_columns():
    M = gaussian(20, 40).float()
    assert analytic_weight(ur.Matrix(M)).dtype == torch.float32
    M[:, 3] = 0
    with pytest.raises(ValueError, match="column 3 is zero"):
        analytic_weight(M)
    with pytest.raises(ValueError, match="steps"):
        analytic_weight(gaussian(20, 40), steps=-1)


def test_alista_learns_2k_scalars_and_keeps_w_fixed():
    A, x, y = sparse_problem()
    net = ur.create("alista", operator=A, layers=5)
    trainable = {n: p for n, p in net.named_parameters() if p.requires_grad}
    assert {n: tuple(p.shape) for n, p in trainable.items()} == {
        "params.gamma": (5,),
        "params.theta": (5,),
    }
    W = net.params["W"]
    assert not W.requires_grad and W.shape == (20, 40)
    torch.testing.assert_close(W.detach(), analytic_weight(A))
    torch.testing.assert_close(net.param_values()["gamma"], torch.ones(5, dtype=torch.float64))
    (net(y) - x).square().sum().backward()
    assert W.grad is None
    tilista = ur.create("alista", operator=A, layers=5, learn_weight=True)
    (tilista(y) - x).square().sum().backward()
    assert tilista.params["W"].grad.abs().sum() > 0


def test_alista_layer_is_the_documented_update():
    A, _, y = sparse_problem()
    net = ur.create("alista", operator=A, layers=3, support=None)
    W, L = analytic_weight(A), A.lipschitz()
    x = torch.zeros(8, 40, dtype=torch.float64)
    for _ in range(3):
        v = x + (y - A(x)) @ W
        x = torch.sign(v) * (v.abs() - 0.4 / L).clamp_min(0)
    torch.testing.assert_close(net(y), x, rtol=1e-10, atol=1e-12)


def test_alista_moves_with_the_network():
    A, _, y = sparse_problem()
    net = ur.create("alista", operator=A, layers=3).float()
    assert net.params["W"].dtype == torch.float32 and not net.params["W"].requires_grad
    assert net(y.float()).dtype == torch.float32


def test_bad_arguments_name_themselves():
    A, _, _ = sparse_problem()
    with pytest.raises(ValueError, match="coherence_steps"):
        ur.create("alista", operator=A, coherence_steps=-2)
    with pytest.raises(TypeError, match="learn_weight"):
        ur.create("alista", operator=A, learn_weight="yes")
    with pytest.raises(ValueError, match="m: expected a positive int"):
        ALISTAIteration(-1, 3)
