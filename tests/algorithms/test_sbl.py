"""SBL-EM against the direct posterior formula, and the properties EM guarantees."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import SBL
from unrolled.algorithms.sbl import gaussian_posterior


def evidence(A, y, gamma, noise):
    """The log marginal likelihood −log|Σ_y| − yᴴ Σ_y⁻¹ y per sample (constants left out)."""
    M = A.M
    cov = (M * gamma.to(M.dtype).unsqueeze(-2)) @ M.mH + noise * torch.eye(
        M.shape[-2], dtype=M.dtype
    )
    quad = (y.conj().unsqueeze(-2) @ torch.linalg.solve(cov, y.unsqueeze(-1))).real.flatten()
    return -torch.linalg.slogdet(cov).logabsdet - quad


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("per_sample", [False, True])
def test_posterior_is_the_direct_formula(dtype, per_sample):
    A, _, y = sparse_problem(dtype=dtype, batch=3)
    if per_sample:
        A = ur.Matrix(A.M + 0.1 * torch.randn(3, *A.M.shape, dtype=dtype))
    gamma = torch.rand(3, 40, dtype=torch.float64) + 0.1
    noise = 0.05
    mu, var = gaussian_posterior(y, A, gamma, noise)
    M = A.M.expand(3, *A.M.shape[-2:])
    for b in range(3):  # Σ = (σ⁻² AᴴA + Γ⁻¹)⁻¹, μ = σ⁻² Σ Aᴴ y
        Sigma = torch.linalg.inv(M[b].mH @ M[b] / noise + torch.diag(1 / gamma[b]).to(dtype))
        torch.testing.assert_close(mu[b], Sigma @ M[b].mH @ y[b] / noise, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(var[b], Sigma.diagonal().real, rtol=1e-10, atol=1e-12)


def test_em_never_lowers_the_evidence():
    A, _, y = sparse_problem(batch=4)
    noise = 1e-3
    trace_gamma = []
    alg = SBL(noise=noise)
    state = alg.init(y, A)
    values = alg.defaults(A)
    for t in range(40):
        trace_gamma.append(state.gamma)
        state = alg.update(state, y, A, ur.Layer(values, t))
    ev = torch.stack([evidence(A, y, g, noise) for g in trace_gamma])
    assert (ev[1:] - ev[:-1] >= -1e-8 * ev.abs()[1:]).all()
    assert (ev[-1] > ev[0]).all()


def test_sbl_recovers_a_sparse_vector_and_prunes_the_rest():
    g = torch.Generator().manual_seed(4)
    m, n, k = 25, 50, 4
    M = torch.randn(m, n, generator=g, dtype=torch.float64) / m**0.5
    x = torch.zeros(2, n, dtype=torch.float64)
    for b in range(2):
        x[b, torch.randperm(n, generator=g)[:k]] = (
            torch.randn(k, generator=g, dtype=torch.float64).sign() * 2
        )
    A = ur.Matrix(M)
    y = A(x) + 1e-3 * torch.randn(2, m, generator=g, dtype=torch.float64)
    alg = SBL(noise=1e-6)
    est = alg.run(y, A, iterations=300)
    nmse = ((est - x).square().sum(-1) / x.square().sum(-1)).max()
    assert nmse < 1e-4
    state = alg.init(y, A)
    for t in range(300):
        state = alg.update(state, y, A, ur.Layer(alg.defaults(A), t))
    assert ((state.gamma > 1e-3).sum(-1) == k).all()  # the variances off the support went to 0


def test_an_operator_without_a_matrix_is_refused():
    _, _, y = sparse_problem()
    with pytest.raises(TypeError, match="A: SBL needs an explicit matrix"):
        SBL().run(y, ur.ops.Diagonal(torch.ones(20, dtype=y.dtype)), iterations=1)


def test_float32_on_a_coherent_dictionary_stays_finite_and_matches_float64():
    """A float32 Cholesky factor of Σ_y breaks down here (σ² = 10⁻⁶, coherence > 0.95): the
    posterior is computed in double precision and returned in float32."""
    p = ur.data.SparseCoding(50, 100, dictionary="correlated", validation_size=4, test_size=8)
    _, y = p.test
    est32 = SBL(noise=1e-6).run(y, p.operator, iterations=30)
    est64 = SBL(noise=1e-6).run(y.double(), ur.Matrix(p.matrix.double()), iterations=30)
    assert est32.dtype == torch.float32 and torch.isfinite(est32).all()
    torch.testing.assert_close(est32.double(), est64, rtol=1e-3, atol=1e-4)
