"""MLEM and OSEM against their textbook formulas, and the properties EM guarantees."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import emission_problem
from unrolled.algorithms import MLEM, OSEM


def poisson_loglik(A, x, y, background=0.0):
    """Σ y log(Ax + b) − (Ax + b), per sample (the constant −log y! left out; 0 log 0 = 0)."""
    mean = A(x) + background
    return (torch.xlogy(y, mean) - mean).flatten(1).sum(-1)


def textbook_mlem(A, y, iterations, background=0.0):
    M = A.M
    sens = M.sum(0)  # Aᵀ1
    x = torch.ones(y.shape[0], M.shape[1], dtype=y.dtype)
    for _ in range(iterations):
        x = x / sens * ((y / (x @ M.T + background)) @ M)
    return x


def textbook_osem(A, y, subsets, iterations):
    M = A.M
    x = torch.ones(y.shape[0], M.shape[1], dtype=y.dtype)
    for t in range(iterations):
        rows = torch.arange(t % subsets, M.shape[0], subsets)
        Ms, ys = M[rows], y[:, rows]
        x = x / Ms.sum(0) * ((ys / (x @ Ms.T)) @ Ms)
    return x


def test_mlem_is_the_textbook_iteration():
    A, _, y = emission_problem()
    torch.testing.assert_close(
        MLEM().run(y, A, iterations=25), textbook_mlem(A, y, 25), rtol=1e-12, atol=0
    )


def test_mlem_takes_the_background_from_the_operator():
    A, x, _ = emission_problem()
    A.background = 2.0
    y = torch.poisson(A(x) + 2.0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        MLEM().run(y, A, iterations=10), textbook_mlem(A, y, 10, 2.0), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("background", [0.0, 3.0])
def test_mlem_never_lowers_the_poisson_likelihood(background):
    A, x, _ = emission_problem(m=40, n=25, batch=6, seed=3)
    A.background = background
    y = torch.poisson(A(x) + background, generator=torch.Generator().manual_seed(2))
    trace = MLEM().run(y, A, iterations=60, trace=True)[1]
    ll = torch.stack([poisson_loglik(A, xt, y, background) for xt in trace])
    assert (ll[1:] - ll[:-1] >= -1e-9 * ll.abs()[1:]).all()
    assert (ll[-1] > ll[0]).all()


def test_osem_cycles_through_interleaved_subsets_of_rows():
    A, _, y = emission_problem(m=30, n=20)
    torch.testing.assert_close(
        OSEM(subsets=3).run(y, A, iterations=12), textbook_osem(A, y, 3, 12), rtol=1e-12, atol=0
    )
    torch.testing.assert_close(
        OSEM(subsets=1).run(y, A, iterations=7), MLEM().run(y, A, iterations=7), rtol=0, atol=0
    )


def test_osem_on_a_sinogram_splits_the_angles():
    shape = (24, 24)
    R = ur.ops.Radon(shape, angles=12, dtype=torch.float64)
    x = torch.zeros(1, *shape, dtype=torch.float64)
    x[:, 6:18, 8:16] = 2.0
    y = R(x)
    sub = OSEM(subsets=4)
    state = sub.init(y, R)
    assert state.masks.shape == (4, 12, 1)
    for s in range(4):  # subset s: the angles s, s + 4, s + 8
        assert state.masks[s, :, 0].nonzero().flatten().tolist() == [s, s + 4, s + 8]
    torch.testing.assert_close(sub.init(y, 0.5 * R).masks, state.masks)  # a scaled Radon too
    # early on, one pass over 4 subsets gains what several MLEM iterations do
    one_pass = sub.run(y, R, iterations=4)
    mlem = MLEM().run(y, R, iterations=1)
    assert (poisson_loglik(R, one_pass, y).sum() > poisson_loglik(R, mlem, y).sum()).item()


def test_a_relaxed_step_keeps_the_estimate_nonnegative():
    A, _, y = emission_problem()
    for power in (0.3, 1.8):  # under- and over-relaxed
        x = MLEM(power=power).run(y, A, iterations=10)
        assert torch.isfinite(x).all() and (x >= 0).all()
    y0 = torch.zeros_like(y)  # no counts: every ratio is 0, and stays finite
    assert (MLEM(power=2.0).run(y0, A, iterations=3) == 0).all()


def test_a_pixel_no_ray_sees_keeps_its_value():
    A, _, y = emission_problem()
    M = torch.cat([A.M, torch.zeros(A.M.shape[0], 1, dtype=A.M.dtype)], dim=1)
    x = MLEM().run(y, ur.Matrix(M), iterations=5)
    assert (x[:, -1] == 1).all()


def test_bad_input_is_named():
    A, _, y = emission_problem()
    with pytest.raises(TypeError, match="y: MLEM expects real counts"):
        MLEM().run(y.to(torch.complex128), ur.Matrix(A.M.to(torch.complex128)), iterations=1)
    with pytest.raises(ValueError, match="subsets: expected at most 30"):
        OSEM(subsets=31).run(y, A, iterations=1)
    with pytest.raises(ValueError, match="subsets"):
        OSEM(subsets=0)


def test_an_unrolled_network_learns_the_power_per_layer():
    A, x, y = emission_problem()
    net = ur.unroll(OSEM(subsets=3), 6, learn="power", operator=A)
    torch.testing.assert_close(net(y), OSEM(subsets=3).run(y, A, iterations=6), rtol=1e-10, atol=0)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    before = (net(y) - x).square().mean().item()
    for _ in range(30):
        loss = (net(y) - x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (net(y) - x).square().mean().item() < before


def roughness(x):
    """½ Σ over neighbouring pixel pairs of (x_j − x_k)², per sample (image: last two axes)."""
    dh = x[..., 1:, :] - x[..., :-1, :]
    dw = x[..., :, 1:] - x[..., :, :-1]
    return 0.5 * (dh.square().flatten(1).sum(1) + dw.square().flatten(1).sum(1))


def emission_image_problem():
    shape = (1, 20, 20)
    R = ur.ops.Radon(shape, angles=16, dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    x = torch.zeros(2, *shape, dtype=torch.float64)
    x[:, :, 4:16, 5:15] = 1.0
    x[1, :, 8:12, 8:12] = 3.0
    A = 0.5 * R
    return A, x, torch.poisson(A(x), generator=g)


@pytest.mark.parametrize("beta", [0.05, 1.0])
def test_map_em_never_lowers_the_penalised_likelihood(beta):
    A, _, y = emission_image_problem()
    alg = MLEM(mstep=ur.algorithms.QuadraticMAP(beta))
    trace = alg.run(y, A, iterations=40, trace=True)[1]
    assert (trace >= 0).all() and torch.isfinite(trace).all()
    objective = torch.stack([poisson_loglik(A, t, y) - beta * roughness(t) for t in trace])
    assert (objective[1:] - objective[:-1] >= -1e-9 * objective.abs()[1:]).all()
    ml = MLEM().run(y, A, iterations=40)
    assert (roughness(trace[-1]) < roughness(ml)).all()  # the prior smooths


def test_map_em_without_weight_is_mlem():
    A, _, y = emission_image_problem()
    torch.testing.assert_close(
        MLEM(mstep=ur.algorithms.QuadraticMAP(0.0)).run(y, A, iterations=5),
        MLEM().run(y, A, iterations=5),
        rtol=0,
        atol=0,
    )
    with pytest.raises(ValueError, match="beta: expected a number >= 0"):
        ur.algorithms.QuadraticMAP(-1.0)
