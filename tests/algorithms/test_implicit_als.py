"""Implicit ALS is Hu, Koren & Volinsky's: each half-step is the closed-form weighted ridge
solve of their Eq. 4–5 (its conjugate-gradient solve converges to it), the objective falls,
the users scored are folded in without moving the items, and it needs the interactions."""

from __future__ import annotations

import itertools

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ImplicitALS
from unrolled.algorithms.implicit_als import svd_factors, weighted_solve
from unrolled.recsys import item_graph


@pytest.fixture
def graph():
    g = torch.Generator().manual_seed(3)
    R = (torch.rand(30, 20, generator=g) < 0.25).double()
    return R, item_graph(R)


def hu_solve(R, F, alpha, lam):
    """Eq. 4 of Hu et al., row by row: ``(FᵀC_uF + λI)⁻¹ FᵀC_u p_u``, ``C_u = I + α diag(r_u)``."""
    rows = []
    for r in R:
        C = torch.diag(1 + alpha * r)
        rows.append(
            torch.linalg.solve(F.mT @ C @ F + lam * torch.eye(F.shape[1]).double(), F.mT @ C @ r)
        )
    return torch.stack(rows)


def objective(R, X, Y, alpha, lam):
    C = 1 + alpha * R
    return (C * (R - X @ Y.mT) ** 2).sum() + lam * (X.square().sum() + Y.square().sum())


def test_conjugate_gradient_reaches_the_closed_form_half_step(graph):
    R, _ = graph
    g = torch.Generator().manual_seed(0)
    F, start = torch.randn(20, 5, generator=g).double(), torch.randn(30, 5, generator=g).double()
    exact = hu_solve(R, F, 5.0, 0.1)
    solved = weighted_solve(R, F, start, torch.tensor(5.0).double(), 0.1, steps=5)
    torch.testing.assert_close(solved, exact, rtol=1e-8, atol=1e-8)  # CG: exact in d steps
    assert (weighted_solve(R, F, start, 5.0, 0.1, steps=2) - exact).abs().max() > 1e-6


def test_an_iteration_is_hu_et_al_alternation_and_lowers_the_objective(graph):
    R, A = graph
    y = R[:4]
    alpha, lam, d = 5.0, 0.1, 4
    algorithm = ImplicitALS(rank=d, cg_steps=d, confidence=alpha, reg=lam)
    state = algorithm.initial_state(y, A, ur.core.Layer(algorithm.defaults(A), 0))
    values = [objective(R, state.users[:30], state.items, alpha, lam)]
    for _ in range(4):
        previous = state
        state = algorithm.update(state, y, A, ur.core.Layer(algorithm.defaults(A), 0))
        items = hu_solve(R.mT, previous.users[:30], alpha, lam)
        torch.testing.assert_close(state.items, items, rtol=1e-7, atol=1e-7)
        users = hu_solve(torch.cat([R, y]), items, alpha, lam)
        torch.testing.assert_close(state.users, users, rtol=1e-7, atol=1e-7)
        values.append(objective(R, state.users[:30], state.items, alpha, lam))
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(values))
    torch.testing.assert_close(state.x, state.users[30:] @ state.items.mT)


def test_a_user_scored_is_folded_in_and_moves_no_one_else(graph):
    R, A = graph
    y = torch.cat([R[:3], torch.zeros(1, 20).double()])
    y[3, :5] = 1  # a user the training data never saw
    both = ImplicitALS(rank=4).run(y, A, iterations=3)
    alone = ImplicitALS(rank=4).run(y[:1], A, iterations=3)
    torch.testing.assert_close(both[:1], alone)
    assert torch.isfinite(both).all()


def test_the_start_is_the_truncated_svd_of_the_interactions():
    """Four communities of users, each taking its own items (sizes unequal: distinct singular
    values): rank 4, which the subspace steps recover exactly."""
    users, items = torch.tensor([3, 5, 7, 9]), torch.tensor([2, 3, 4, 6])
    R = torch.block_diag(*[torch.ones(u, i).double() for u, i in zip(users, items, strict=True)])
    A = item_graph(R)
    Y0 = svd_factors(A, 4)
    _, s, Vh = torch.linalg.svd(R)
    expected = Vh[:4].mT @ torch.diag(s[:4]) @ Vh[:4]
    torch.testing.assert_close(Y0 @ Y0.mT, expected, rtol=1e-8, atol=1e-8)
    wide = svd_factors(A, 20)  # more factors than the 15 items: the rest start at zero
    assert wide.shape == (15, 20) and (wide[:, 15:] == 0).all()


def test_it_needs_the_interactions_of_an_item_graph(graph):
    R, A = graph
    with pytest.raises(TypeError, match=r"A: ImplicitALS factorises the interactions"):
        ImplicitALS(rank=4).run(R[:2], ur.Matrix(A.M), iterations=1)
    with pytest.raises(ValueError, match="cg_steps"):
        ImplicitALS(cg_steps=0)
