"""lightgcn: untrained it is LightGCN's propagation of the graph's spectral embeddings, a
classical filter of the history (what it learns is measured by benchmarks/recsys.py --part
ranking)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import EmbeddingPropagation
from unrolled.data import ImplicitRanking, synthetic_ratings


@pytest.fixture(scope="module")
def problem():
    return ImplicitRanking(synthetic_ratings(120, 60, density=0.3, seed=7), positive=3.0)


def _layer_sum(P, layers):
    return sum(torch.linalg.matrix_power(P, k) for k in range(layers + 1))


@pytest.mark.parametrize("layers", [1, 3])
def test_with_every_eigenvector_it_is_a_polynomial_filter_of_degree_2k(problem, layers):
    """``d = I``: ``E Eᵀ = I``, so ``x = y S²`` with ``S = Σ_{k≤K} P̃^k``."""
    A = problem.operator
    net = ur.create("lightgcn", operator=A, layers=layers, dim=1000)  # more than the 60 items
    assert net.params["embedding"].shape == (60, 60)
    _, y = problem.test
    P = A.M.double()
    S = _layer_sum(P, layers)
    with torch.no_grad():
        torch.testing.assert_close(net(y).double(), y.double() @ S @ S, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(net(y), EmbeddingPropagation(60).run(y, A, iterations=layers))


def test_with_fewer_dimensions_it_filters_the_smoothest_signals(problem):
    """``d < I``: the spectral filter ``(Σ_k λ^k)²`` on the d leading eigenvectors of P̃."""
    A, layers, d = problem.operator, 2, 8
    net = ur.create("lightgcn", operator=A, layers=layers, dim=d)
    values, vectors = torch.linalg.eigh(A.M.double())
    lam, V = values[-d:], vectors[:, -d:]
    response = sum(lam**k for k in range(layers + 1)) ** 2
    _, y = problem.test
    with torch.no_grad():
        torch.testing.assert_close(
            net(y).double(), y.double() @ V @ torch.diag(response) @ V.mT, rtol=1e-4, atol=1e-4
        )
    assert net.learned == ("embedding", "weight", "scale")
    assert net.params["weight"].shape == (layers,) and net.params["scale"].shape == ()


def test_trains_with_bpr_and_moves_its_embeddings(problem):
    torch.manual_seed(0)
    net = ur.create("lightgcn", operator=problem.operator, layers=2, dim=16)
    start = net.params["embedding"].detach().clone()
    assert net.recipe.settings["loss"] == "bpr"
    ur.train.fit(net, problem, max_steps=30, progress=False)
    moved = (net.params["embedding"].detach() - start).abs().max()
    assert 0 < moved < 1  # Adam's rate 1e-3 for 30 steps: a small, real move
    x, y = problem.validation
    assert 0 <= problem.metric(net(y), x) <= 1


def test_a_rectangular_operator_is_refused():
    with pytest.raises(ValueError, match="operator"):
        ur.create("lightgcn", operator=ur.ops.Matrix(torch.randn(5, 7)), layers=2)
