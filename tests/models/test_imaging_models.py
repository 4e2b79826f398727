"""The imaging zoo's own behaviour: each iteration with its classical defaults is the classical
method it unrolls, and each learned piece starts where its docstring says."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.models.test_contract import _blur, _mri, _sense
from unrolled.data import estimate_noise_level
from unrolled.models import (
    DPIRSchedule,
    FilterShrinkage,
    HyperNetwork,
    ISTANetIteration,
    LearnedPrimalDualIteration,
    MoDLIteration,
    UNetBaseline,
    VarNetIteration,
)
from unrolled.train.losses import supervised_loss


def _gd(y, A, step, x, iterations):
    Aty = A.H(y)
    for _ in range(iterations):
        x = x - step * (A.gram(x) - Aty)
    return x


def test_ista_net_adds_its_symmetry_loss_to_training():
    A, x, y = _blur()
    net = ur.create("ista-net-plus", operator=A, layers=3)
    assert net.has_auxiliary
    out, aux = net(y, A, auxiliary=True)
    assert out.shape == x.shape and aux.ndim == 0 and aux > 0
    plain = ur.create("lista", operator=ur.Matrix(torch.randn(5, 8, dtype=torch.float64)), layers=2)
    assert not plain.has_auxiliary
    loss = supervised_loss(net, x, y, 3, (0.0, 0.0, 1.0), "mse", A)
    mse = (net(y, A) - x).square().mean()
    torch.testing.assert_close(loss, mse + aux)
    _, trace, aux_traced = net(y, A, trace=True, auxiliary=True)
    assert trace.shape == (3, *x.shape)
    torch.testing.assert_close(aux_traced, aux)


def test_ista_net_iteration_with_its_defaults_is_ista_from_the_adjoint():
    A, _, y = _blur()
    alg = ISTANetIteration(threshold=1e-12)  # soft thresholding at ~0: plain gradient steps
    x = alg.run(y, A, iterations=4)
    torch.testing.assert_close(x, _gd(y, A, 1 / A.lipschitz(), A.H(y), 4))


def test_untrained_plain_ista_net_is_ista_with_soft_thresholding():
    A, _, y = _blur()
    net = ur.create("ista-net", operator=A, layers=3, threshold=0.05, start="adjoint")
    out, aux = net(y, A, auxiliary=True)
    torch.testing.assert_close(out, ISTANetIteration(threshold=0.05).run(y, A, iterations=3))
    assert aux == 0  # F̃(F(r)) = r exactly at the start


def test_ista_net_refuses_complex_operators():
    A, _, _ = _mri()
    with pytest.raises(TypeError, match="operator: ista-net reconstructs real images"):
        ur.create("ista-net", operator=A)
    with pytest.raises(ValueError, match="operator: ista-net-plus sizes its networks"):
        ur.create("ista-net-plus")


def test_filter_shrinkage_is_the_identity_at_zero_and_smooths_at_large_thresholds():
    m = FilterShrinkage().double()
    v = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(m(v, 0.0), v)
    smooth = m(v, 1e9)  # all detail clipped away: only the DC filter's part is left
    assert smooth.std() < 0.5 * v.std()
    z = torch.randn(2, 16, 16, dtype=torch.complex128)
    torch.testing.assert_close(m(z, 0.0), z)
    with pytest.raises(ValueError, match="size"):
        FilterShrinkage(1)


def test_modl_iteration_without_a_denoiser_is_the_proximal_point_method():
    A, _, y = _sense()
    alg = MoDLIteration(cg_iterations=40, lam=0.5)
    x = alg.run(y, A, iterations=3)
    expected = A.H(y)
    for _ in range(3):
        expected = A.solve_gram(A.H(y) + 0.5 * expected, 0.5, 200)
    torch.testing.assert_close(x, expected, rtol=1e-6, atol=1e-8)


def test_modl_learns_one_lambda_and_one_shared_denoiser():
    A, _, _ = _mri()
    net = ur.create("modl", operator=A, layers=4, width=8)
    assert net.params["lam"].shape == ()
    assert not isinstance(net.slots["denoiser"], torch.nn.ModuleList)


def test_varnet_iteration_without_a_regulariser_is_gradient_descent():
    A, _, y = _mri()
    x = VarNetIteration().run(y, A, iterations=3)
    torch.testing.assert_close(x, _gd(y, A, 1 / A.lipschitz(), A.H(y), 3))
    net = ur.create("varnet", operator=A, layers=3, width=4, pools=1)
    assert len(net.slots["regulariser"]) == 3  # one U-Net per cascade


def test_untrained_varnet_is_gradient_descent_and_the_papers_start_is_not():
    A, _, y = _mri()
    net = ur.create("varnet", operator=A, layers=3, width=4, pools=1)
    with torch.no_grad():
        torch.testing.assert_close(net(y, A), VarNetIteration().run(y, A, iterations=3))
        paper = ur.create("varnet", operator=A, layers=3, width=4, pools=1, zero_start=False)
        assert (paper(y, A) - net(y, A)).abs().max() > 1e-3


def test_learned_primal_dual_with_its_defaults_is_landweber():
    for A, _, y in (_blur(), _mri()):
        x = LearnedPrimalDualIteration().run(y, A, iterations=3)
        torch.testing.assert_close(x, _gd(y, A, 1 / A.lipschitz(), torch.zeros_like(A.H(y)), 3))


def test_untrained_learned_primal_dual_is_landweber():
    A, _, y = _mri()
    net = ur.create("learned-primal-dual", operator=A, layers=3, width=4)
    torch.testing.assert_close(net(y, A), LearnedPrimalDualIteration().run(y, A, iterations=3))


def test_learned_primal_dual_works_on_vectors():
    A = ur.Matrix(torch.randn(6, 10, dtype=torch.float64))
    net = ur.create("learned-primal-dual", operator=A, layers=2, width=4)
    assert net(torch.randn(3, 6, dtype=torch.float64)).shape == (3, 10)


def test_dpir_schedule_runs_from_49_to_the_noise_level_and_the_hyper_network_starts_there():
    features = torch.tensor([[0.02, 2.0], [0.05, 1.0]])
    schedule, hyper = DPIRSchedule(5), HyperNetwork(5, hidden=8)
    mu0, s0 = schedule(features, 0)
    mu4, s4 = schedule(features, 4)
    torch.testing.assert_close(s0, torch.full((2,), 49 / 255))
    torch.testing.assert_close(s4, features[:, 0])
    torch.testing.assert_close(mu4, torch.full((2,), 0.23))  # λσ²/σ_K² with σ_K = σ
    for k in range(5):
        torch.testing.assert_close(hyper(features, k), schedule(features, k))
    assert torch.all(mu0 < mu4)


def test_noise_level_estimate_is_close_on_pure_noise():
    g = torch.Generator().manual_seed(0)
    for sigma in (0.01, 0.1):
        n = sigma * torch.randn(2, 1, 128, 128, generator=g, dtype=torch.float64)
        estimate = estimate_noise_level(n)
        assert torch.allclose(estimate, torch.full_like(estimate, sigma), rtol=0.05)
    with pytest.raises(ValueError, match="y: expected real images"):
        estimate_noise_level(torch.randn(4, 10))


def test_usrnet_untrained_is_plug_and_play_hqs_with_an_identity_prior():
    A, _, y = _blur()
    net = ur.create("usrnet", operator=A, layers=3, width=4, pools=1, hidden=4)
    features = torch.stack([estimate_noise_level(y), torch.ones(2, dtype=torch.float64)], dim=1)
    z = A.H(y)
    for k in range(3):
        mu, _ = DPIRSchedule(3)(features, k)
        mu = mu.view(-1, 1, 1, 1)
        z = A.solve_gram(A.H(y) + mu * z, mu)
    torch.testing.assert_close(net(y, A), z)


@pytest.mark.parametrize(("name", "modules"), [("pnp-pgd", 1), ("pnp-hqs", 4)])
def test_pnp_ties_or_unties_its_denoiser(name, modules):
    A, _, _ = _blur()
    tied = modules == 1
    net = ur.create(name, operator=A, layers=4, tied=tied, depth=3, width=4)
    prox = net.slots["prox"]
    assert (len(prox) if isinstance(prox, torch.nn.ModuleList) else 1) == modules
    with pytest.raises(TypeError, match="tied"):
        ur.create(name, operator=A, tied="yes")


def test_unet_baseline_is_a_one_layer_network_on_the_tikhonov_start():
    A, x, y = _mri()
    net = UNetBaseline(A, width=4, pools=2)
    out, trace = net(y, A, trace=True)
    assert out.shape == x.shape and trace.shape == (1, *x.shape) and out.dtype == x.dtype
    with pytest.raises(ValueError, match="depth"):
        net(y, A, depth=2)
    with pytest.raises(ValueError, match="rho"):
        UNetBaseline(A, rho=0)
    with pytest.raises(TypeError, match="start: expected a callable"):
        UNetBaseline(A, start=3)


def test_unet_baseline_takes_a_start_map():
    A, _x, y = _blur()
    net = UNetBaseline(A, width=4, pools=2, start=lambda y, A: A.H(y))
    with torch.no_grad():
        for p in net.net.parameters():
            p.zero_()
    torch.testing.assert_close(net(y, A), A.H(y))  # a zero U-Net leaves the start as it is


def test_ista_net_starts_from_q_init_fitted_on_training_blocks():
    from unrolled.data import CompressiveImaging, test_images
    from unrolled.metrics import psnr
    from unrolled.models.ista_net import BlockLinearStart, fit_block_start

    A = CompressiveImaging(66, 0.25, validation_size=1).blocks((1, 66, 66))
    Q = fit_block_start(A, samples=4000)
    assert Q.shape == (33 * 33, A.matrix.M.shape[0])
    x = test_images(66)[1]
    y = A(x)
    start = BlockLinearStart(Q)(y, A)
    assert psnr(start, x) > psnr(A.H(y), x) + 10  # the linear MMSE map, not the min-norm one
    net = ur.create("ista-net", operator=A, layers=2, features=4)
    assert isinstance(net.slots["start"], BlockLinearStart)
    assert "start" not in dict(ur.create("ista-net", operator=A, layers=2, start="adjoint").slots)
    with pytest.raises(ValueError, match="start"):
        ur.create("ista-net", operator=A, start="zeros")
    blur, _, y_blur = _blur()
    with pytest.raises(ValueError, match="A: expected a BlockCS"):
        BlockLinearStart(Q)(y_blur, blur)


@pytest.mark.parametrize("seed", range(6))
def test_varnet_gradient_is_finite_on_an_all_zero_measurement_in_float32(seed):
    """Each cascade's U-Net then sees a (near-)constant image whose feature maps are constant:
    every instance norm multiplies the gradient by 1/√ε, which must not overflow float32."""
    A, _, y = _blur(torch.float32)
    torch.manual_seed(seed)
    net = ur.create("varnet", operator=A, layers=3)
    net(torch.zeros_like(y), A).abs().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_learned_primal_dual_trains_on_an_operator_of_large_norm():
    """CT's Radon transform has ‖A‖ ≈ 17 here: unnormalised, the learned updates saw inputs in
    the hundreds and training diverged at once; on A/‖A‖ it climbs from its Landweber start."""
    from unrolled.train import fit

    torch.manual_seed(0)
    p = ur.data.CTReconstruction(24, 10, validation_size=4, test_size=2)
    assert p.operator.lipschitz() > 100
    net = ur.create("learned-primal-dual", operator=p.operator, layers=3, width=8)
    fit(net, p, schedule="end-to-end", max_steps=30, eval_every=15, lr_schedule="constant",
        progress=False, run_dir=None)  # fmt: skip
    x, y = p.validation
    untrained = ur.create("learned-primal-dual", operator=p.operator, layers=3, width=8)
    with torch.no_grad():
        before, after = (float(ur.metrics.psnr(m(y), x, 1.0)) for m in (untrained, net))
    assert after > before + 1.0, (before, after)
