"""LAMP: AMP with a learned back-projection per layer; AMP before training."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import AMP
from unrolled.models import LAMPBGIteration, LAMPIteration
from unrolled.models.lamp import bernoulli_gaussian_mmse


@pytest.mark.parametrize("alpha", [None, 1.5])
def test_untrained_lamp_equals_amp(alpha):
    A, _, y = sparse_problem()
    kwargs = {} if alpha is None else {"alpha": alpha}
    net = ur.create("lamp", operator=A, layers=8, **kwargs)
    _, trace = net(y, trace=True)
    _, trace_run = AMP(**kwargs).run(y, A, iterations=8, trace=True)
    scale = trace_run.abs().max()
    torch.testing.assert_close(trace, trace_run, rtol=1e-10, atol=1e-10 * scale)


def test_lamp_params_and_backprojection():
    A, _, _ = sparse_problem()
    net = ur.create("lamp", operator=A, layers=4)
    assert {n: tuple(p.shape) for n, p in net.params.items()} == {"B": (4, 40, 20), "alpha": (4,)}
    torch.testing.assert_close(net.param_values()["B"], A.M.mT.expand(4, 40, 20))
    # a learned B changes only the back-projection: B = 2Aᵀ doubles Aᵀz
    alg = LAMPIteration(20, 40)
    z = torch.randn(3, 20, dtype=torch.float64)
    layer = ur.Layer({"B": 2 * A.M.mT, "alpha": 1.0}, 0)
    torch.testing.assert_close(alg.backproject(z, A, layer), 2 * A.H(z))


def test_lamp_onsager_term_is_the_support_size_over_m():
    """One layer by hand: r = x + Bz, θ = α‖z‖/√m, z' = y − Ax' + (‖x'‖₀/m) z."""
    A, _, y = sparse_problem()
    alg = LAMPIteration(20, 40)
    B = 0.9 * A.M.mT
    state = alg.init(y, A)
    x, z = alg.update(state, y, A, ur.Layer({"B": B, "alpha": 1.2}, 0))
    r = y @ B.mT
    theta = 1.2 * y.norm(dim=1, keepdim=True) / 20**0.5
    x_ref = torch.sign(r) * (r.abs() - theta).clamp_min(0)
    torch.testing.assert_close(x, x_ref)
    b = (x_ref != 0).sum(1, keepdim=True) / 20
    torch.testing.assert_close(z, y - A(x_ref) + b * y)


def test_bernoulli_gaussian_mmse_matches_the_posterior_mean_and_its_derivative():
    """x̂ = E[x | r] by quadrature-free Bayes: π β r with π the posterior support probability."""
    r = torch.linspace(-4, 4, 81, dtype=torch.float64).reshape(1, -1).requires_grad_()
    s2, lam, v = torch.tensor([[0.3]], dtype=torch.float64), 0.1, 2.0
    x_hat, deriv = bernoulli_gaussian_mmse(r, s2, lam, v)

    def normal(t, var):
        return torch.exp(-t.square() / (2 * var)) / torch.sqrt(2 * torch.pi * var)

    on, off = lam * normal(r, v + s2), (1 - lam) * normal(r, s2)
    torch.testing.assert_close(x_hat, on / (on + off) * v / (v + s2) * r)
    (auto,) = torch.autograd.grad(x_hat.sum(), r)
    torch.testing.assert_close(deriv, auto)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_bernoulli_gaussian_mmse_stays_finite_at_a_zero_residual_and_extreme_priors(dtype):
    r = torch.tensor([[0.0, 3.0, -40.0]], dtype=dtype)
    for noise_var in (torch.zeros(1, 1, dtype=dtype), torch.full((1, 1), 1e-30, dtype=dtype)):
        x_hat, deriv = bernoulli_gaussian_mmse(r, noise_var, 0.1, 1.0)
        assert torch.isfinite(x_hat).all() and torch.isfinite(deriv).all()
        torch.testing.assert_close(x_hat, r)  # no noise: the estimate is r itself
    for lam in (0.0, 1.0):  # a learned λ saturating its sigmoid
        sparsity = torch.tensor(lam, dtype=dtype, requires_grad=True)
        x_hat, deriv = bernoulli_gaussian_mmse(
            r, torch.full((1, 1), 0.1, dtype=dtype), sparsity, 1.0
        )
        (x_hat.sum() + deriv.sum()).backward()
        assert torch.isfinite(x_hat).all() and torch.isfinite(sparsity.grad).all()


def test_bernoulli_gaussian_mmse_rejects_bad_arguments():
    r, s2 = torch.randn(2, 3), torch.ones(2, 1)
    with pytest.raises(ValueError, match=r"sparsity: expected a number in \(0, 1\), got 1.5"):
        bernoulli_gaussian_mmse(r, s2, 1.5, 1.0)
    with pytest.raises(ValueError, match="signal_var: expected a positive"):
        bernoulli_gaussian_mmse(r, s2, 0.1, 0.0)
    with pytest.raises(TypeError, match="r: expected a real tensor"):
        bernoulli_gaussian_mmse(r.to(torch.complex64), s2, 0.1, 1.0)


def test_matched_bayes_amp_beats_soft_thresholding_amp_at_every_iteration():
    """LAMP-bg untrained at the true prior is Bayes-optimal AMP: better than AMP-ℓ1 throughout."""
    g = torch.Generator().manual_seed(0)
    A = ur.Matrix(torch.randn(100, 200, generator=g, dtype=torch.float64) / 10)
    x = torch.randn(300, 200, generator=g, dtype=torch.float64)
    x = x * (torch.rand(300, 200, generator=g, dtype=torch.float64) < 0.1)
    y = A(x) + 0.01 * torch.randn(300, 100, generator=g, dtype=torch.float64)
    errors = {}
    for shrinkage in ("soft", "bg"):
        net = ur.create("lamp", operator=A, layers=8, shrinkage=shrinkage)
        with torch.no_grad():
            errors[shrinkage] = (net(y, trace=True)[1] - x).square().sum((1, 2))
    assert (errors["bg"] < errors["soft"]).all()


def test_lamp_bg_is_its_iteration_before_training_and_trains():
    A, x, y = sparse_problem()
    net = ur.create("lamp", operator=A, layers=5, shrinkage="bg", sparsity=0.2, signal_var=1.5)
    assert set(net.params) == {"B", "sparsity", "signal_var"}
    torch.testing.assert_close(net.param_values()["sparsity"], torch.full((5,), 0.2).double())
    alg = LAMPBGIteration(20, 40, sparsity=0.2, signal_var=1.5)
    assert "alpha" not in alg.params  # dropped: the denoiser has its own params
    torch.testing.assert_close(net(y), alg.run(y, A, iterations=5))
    for zero_or_y in (torch.zeros_like(y), y):
        net.zero_grad()
        (net(zero_or_y) - x).square().sum().backward()
        for name, p in net.params.items():
            assert torch.isfinite(p.grad).all(), name
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    with torch.no_grad():
        before = (net(y) - x).square().mean()
    for _ in range(30):
        opt.zero_grad()
        (net(y) - x).square().mean().backward()
        opt.step()
    with torch.no_grad():
        assert (net(y) - x).square().mean() < 0.8 * before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shrinkage": "pwlin"}, r"shrinkage: expected one of \('soft', 'bg'\), got 'pwlin'"),
        ({"shrinkage": "bg", "sparsity": 1.0}, r"sparsity: expected a number in \(0, 1\)"),
        ({"shrinkage": "bg", "signal_var": -1.0}, "signal_var: expected a positive"),
        ({"alpha": 0.0}, "alpha: expected a positive"),
        ({"shrinkage": "bg", "alpha": 1.2}, "alpha: belongs to another shrinkage than 'bg'"),
        ({"sparsity": 0.2}, "sparsity: belongs to another shrinkage than 'soft'"),
    ],
)
def test_lamp_rejects_bad_arguments(kwargs, match):
    A, _, _ = sparse_problem()
    with pytest.raises(ValueError, match=match):
        ur.create("lamp", operator=A, layers=2, **kwargs)
