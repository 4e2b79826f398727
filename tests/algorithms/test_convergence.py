"""The classical algorithms converge without tuning, to the right answers."""

import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import ADMM, AMP, FISTA, GD, ISTA
from unrolled.ops import LinearOperator


class Opaque(LinearOperator):
    """A Matrix seen only through forward/adjoint, so generic paths (CG, power iteration) run."""

    def __init__(self, A):
        self.A = A
        self.in_shape, self.out_shape = A.in_shape, A.out_shape

    def forward(self, x):
        return self.A.forward(x)

    def adjoint(self, y):
        return self.A.adjoint(y)


def lasso_optimality_gap(x, y, A, lam):
    """max over entries of the violation of 0 ∈ Aᴴ(Ax − y) + λ ∂‖x‖₁."""
    g = A.H(A(x) - y)
    on = x != 0
    gap_on = (g + lam * torch.sign(x)).abs() * on
    gap_off = (g.abs() - lam).clamp_min(0) * ~on
    return (gap_on + gap_off).max()


def test_ista_fista_admm_solve_the_same_lasso():
    A, _, y = sparse_problem()
    solutions = {
        "ista": ISTA().run(y, A, iterations=20000, tol=1e-12),
        "fista": FISTA().run(y, A, iterations=5000, tol=1e-12),
        "admm": ADMM().run(y, A, iterations=5000, tol=1e-12),
    }
    for name, x in solutions.items():
        assert lasso_optimality_gap(x, y, A, 0.1) < 1e-6, name
        torch.testing.assert_close(x, solutions["fista"], atol=1e-6, rtol=0)


def test_fista_beats_ista_at_equal_iterations():
    A, _, y = sparse_problem()
    x_star = FISTA().run(y, A, iterations=5000, tol=1e-13)
    err = {a.__name__: (a().run(y, A, iterations=50) - x_star).norm() for a in (ISTA, FISTA)}
    assert err["FISTA"] < 0.5 * err["ISTA"]


def test_gd_converges_to_least_squares():
    A, x, _ = sparse_problem(m=40, n=20)
    y = A(x)
    torch.testing.assert_close(GD().run(y, A, iterations=5000, tol=1e-14), x, atol=1e-8, rtol=0)


def test_admm_through_conjugate_gradient_matches_cholesky():
    A, _, y = sparse_problem()
    direct = ADMM().run(y, A, iterations=30)
    generic = ADMM(cg_iterations=60).run(y, Opaque(A), iterations=30)
    torch.testing.assert_close(generic, direct, atol=1e-8, rtol=0)


def test_amp_recovers_a_sparse_signal_fast():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(250, 500, generator=g)
    A = ur.Matrix(M / M.norm(dim=0, keepdim=True))
    x = torch.randn(16, 500, generator=g) * (torch.rand(16, 500, generator=g) < 0.1)
    y = A(x)
    x_hat = AMP().run(y, A, iterations=30)
    nmse_db = 10 * torch.log10((x_hat - x).square().sum(1) / x.square().sum(1))
    assert nmse_db.mean() < -30
