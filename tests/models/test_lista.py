"""LISTA, LISTA-CP, LISTA-CPSS, StepLISTA: equal to ISTA before training; support selection."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import ISTA
from unrolled.models import LISTACPIteration, LISTAIteration
from unrolled.priors import soft_threshold

LAYERS = 7


def assert_equal_traces(net, alg, A, y, rtol=1e-10):
    _, trace = net(y, trace=True)
    _, trace_run = alg.run(y, A, iterations=net.layers, trace=True)
    scale = trace_run.abs().max()
    assert scale > 0
    torch.testing.assert_close(trace, trace_run, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", ["lista", "lista-cp", "steplista"])
@pytest.mark.parametrize("lam", [None, 0.03])
def test_untrained_network_equals_ista(name, lam):
    A, _, y = sparse_problem()
    kwargs = {} if lam is None else {"lam": lam}
    net = ur.create(name, operator=A, layers=LAYERS, **kwargs)
    assert_equal_traces(net, ISTA(**({} if lam is None else {"threshold": lam})), A, y)


def test_thresholds_start_at_lambda_over_L():
    A, _, _ = sparse_problem()
    for name, lam in [("lista", 0.1), ("lista-cp", 0.1), ("lista-cpss", 0.1), ("alista", 0.4)]:
        theta = ur.create(name, operator=A, layers=2).param_values()["theta"]
        torch.testing.assert_close(theta, torch.full((2,), lam / A.lipschitz(), dtype=A.dtype))


def test_lista_equals_ista_through_a_matrix_free_operator():
    """The matrices are read off any operator on vectors (applied to the identity)."""
    A, _, y = sparse_problem()
    composed = ur.Matrix(torch.eye(20, dtype=torch.float64)) @ A  # not a Matrix itself
    net = ur.create("lista", operator=composed, layers=LAYERS)
    torch.testing.assert_close(net.param_values()["W1"][0], A.M.mT / composed.lipschitz())
    assert_equal_traces(net, ISTA(), composed, y)


def test_lista_params_have_the_documented_shapes():
    A, _, _ = sparse_problem()
    net = ur.create("lista", operator=A, layers=LAYERS)
    assert {n: tuple(p.shape) for n, p in net.params.items()} == {
        "W1": (LAYERS, 40, 20),
        "D": (LAYERS, 40, 40),
        "theta": (LAYERS,),
    }
    net = ur.create("lista-cp", operator=A, layers=LAYERS)
    assert {n: tuple(p.shape) for n, p in net.params.items()} == {
        "W": (LAYERS, 20, 40),
        "theta": (LAYERS,),
    }
    assert ur.create("steplista", operator=A, layers=LAYERS).learned == ("step",)


def test_lista_is_lista_in_coupled_coordinates():
    """Any trained (W1, D) is LISTA's x ← η(W1 y + W2 x) with W2 = I − W1 A + D."""
    A, _, y = sparse_problem()
    net = ur.create("lista", operator=A, layers=3)
    torch.manual_seed(0)
    with torch.no_grad():
        for name in ("W1", "D"):
            net.params[name].add_(0.05 * torch.randn_like(net.params[name]))
    W1, D, theta = (net.param_values()[k] for k in ("W1", "D", "theta"))
    x = torch.zeros(y.shape[0], 40, dtype=y.dtype)
    for k in range(3):
        W2 = net.algorithm.state_map(W1[k], D[k], A)
        torch.testing.assert_close(W2, torch.eye(40, dtype=y.dtype) - W1[k] @ A.M + D[k])
        x = soft_threshold(y @ W1[k].mT + x @ W2.mT, theta[k])
    torch.testing.assert_close(net(y), x)


def test_iterations_run_classically_like_ista():
    A, _, y = sparse_problem()
    x_ista = ISTA().run(y, A, iterations=30)
    for alg in (LISTAIteration(20, 40), LISTACPIteration(20, 40)):
        torch.testing.assert_close(alg.run(y, A, iterations=30), x_ista, rtol=1e-10, atol=1e-12)


def test_iteration_overrides_are_sized():
    A, _, y = sparse_problem()
    W = torch.zeros(20, 40, dtype=torch.float64)
    alg = LISTACPIteration(20, 40, W=W, theta=0.5)
    assert alg.params["W"].shape == (20, 40)
    net = ur.unroll(alg, 3, learn=["W"], operator=A)
    assert net.params["W"].shape == (3, 20, 40)
    torch.testing.assert_close(net(y), torch.zeros(8, 40, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"shape \(\) or \(20, 40\)"):
        LISTACPIteration(20, 40, W=torch.zeros(40, 20))


def test_cpss_without_support_is_lista_cp_and_with_it_is_not_ista():
    A, _, y = sparse_problem()
    cp = ur.create("lista-cp", operator=A, layers=LAYERS)(y)
    torch.testing.assert_close(
        ur.create("lista-cpss", operator=A, layers=LAYERS, support=(0, 0))(y), cp, rtol=0, atol=0
    )
    ss = ur.create("lista-cpss", operator=A, layers=LAYERS)(y)
    assert not torch.allclose(ss, cp)


@pytest.mark.parametrize("support", [(0.012, 0.13), (0.05, 0.3)])
def test_cpss_keeps_exactly_the_scheduled_count_unthresholded(support):
    """At layer k (1-based), round(min(per_layer·k, maximum)·n) entries per sample skip η."""
    n, m = 500, 250
    g = torch.Generator().manual_seed(0)
    A = ur.Matrix(torch.randn(m, n, generator=g, dtype=torch.float64) / m**0.5)
    x = torch.randn(4, n, generator=g, dtype=torch.float64)
    y = A(torch.randn(4, n, generator=g, dtype=torch.float64))
    alg = LISTACPIteration(m, n, support=support)
    values = alg.defaults(A)
    theta = values["theta"]
    for layer in range(20):
        v = x + (y - A(x)) @ values["W"]
        out = alg.update(x, y, A, ur.Layer(values, layer))
        expected = round(min(support[0] * (layer + 1), support[1]) * n)
        assert ((out == v) & (v.abs() > theta)).sum(1).tolist() == [expected] * 4
        # the rest is soft-thresholded; the kept ones are the largest
        rest = out != v
        torch.testing.assert_close(out[rest], soft_threshold(v, theta)[rest])
        if expected:
            kept_min = torch.where(out == v, v.abs(), torch.inf).amin(1)
            rest_max = torch.where(rest, v.abs(), 0).amax(1)
            assert (kept_min >= rest_max).all()


def test_bad_arguments_name_themselves():
    A, _, _ = sparse_problem()
    with pytest.raises(ValueError, match="lam"):
        ur.create("lista", operator=A, lam=0.0)
    with pytest.raises(ValueError, match="lam"):
        ur.create("steplista", operator=A, lam=-1)
    with pytest.raises(ValueError, match="support"):
        ur.create("lista-cpss", operator=A, support=(0.5, 2))
    with pytest.raises(ValueError, match="support"):
        ur.create("lista-cpss", operator=A, support=0.1)
    with pytest.raises(ValueError, match="layers"):
        ur.create("lista-cp", operator=A, layers=0)
    with pytest.raises(ValueError, match="m: expected a positive int"):
        LISTAIteration(0, 40)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ur.create("lista", operator=A, bogus=1)


@pytest.mark.parametrize("name, reference", [("lista-cpss", 3e-3), ("lamp", 1e-3)])
def test_the_rate_follows_the_size_and_slows_for_a_coherent_dictionary(name, reference):
    """Gaussian dictionaries keep the measured rule ``reference·√(250/m)``; the correlated one,
    whose entries of A/L are far smaller, gets a rate scaled down by ``c < 1`` (the Gaussian rate
    overflowed LISTA-CPSS's loss there)."""

    def rate(m, n, dictionary="gaussian"):
        problem = ur.data.SparseCoding(m, n, dictionary=dictionary, validation_size=1, test_size=1)
        net = ur.create(name, operator=problem.operator, layers=2)
        return net.recipe.resolve(net, problem)["lr"]

    assert rate(250, 500) == pytest.approx(reference)
    assert rate(100, 200) == pytest.approx(reference * 2.5**0.5)
    assert rate(20, 100, "correlated") < 0.2 * reference * 12.5**0.5
