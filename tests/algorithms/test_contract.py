"""DESIGN.md invariants 1 and 3, for every registered algorithm (a new one is checked for free)."""

from __future__ import annotations

import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

import unrolled as ur
from tests.conftest import (
    emission_problem,
    graph_problem,
    mimo_problem,
    ratings_problem,
    sparse_problem,
)

ALGORITHMS = ur.list_models("algorithm")
LAYERS = 6
#: Detectors need a channel that carries its noise variance; matrix completion a mask and real
#: ratings; EM a nonnegative matrix and counts; graph propagation an item graph; the rest take
#: any matrix.
MIMO = {"oamp", "mimo-amp", "ep"}
RATINGS = {"soft-impute", "als", "als-mnar"}
COUNTS = {"mlem", "osem"}
#: Graph propagation: a user's interactions on the item graph.
GRAPH = {"graph-filter", "ppr", "embedding-propagation", "implicit-als"}


def example(name, **kwargs):
    """The example problem of algorithm ``name``: (A, x, y)."""
    if name in RATINGS:
        return ratings_problem(**kwargs)
    if name in COUNTS:
        return emission_problem(**kwargs)
    if name in GRAPH:
        return graph_problem(**kwargs)
    return (mimo_problem if name in MIMO else sparse_problem)(**kwargs)


def build(name, layers=LAYERS, **kwargs):
    return ur.unroll(ur.create(name), layers, learn="all", **kwargs)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize(
    ("dtype", "rtol"),
    [
        (torch.float64, 1e-10),
        (torch.float32, 1e-5),
        (torch.complex128, 1e-10),
        (torch.complex64, 1e-5),
    ],
)
@pytest.mark.parametrize("learn", ["all", ()])
def test_untrained_network_equals_classical_run(name, dtype, rtol, learn):
    """Invariant 1: a layer is an iteration."""
    A, _, y = example(name, dtype=dtype)
    net = ur.unroll(ur.create(name), LAYERS, learn=learn, operator=A)
    x, trace = net(y, trace=True)
    x_run, trace_run = ur.create(name).run(y, A, iterations=LAYERS, trace=True)
    scale = trace_run.abs().max()
    torch.testing.assert_close(trace, trace_run, rtol=rtol, atol=rtol * scale)
    torch.testing.assert_close(x, x_run, rtol=rtol, atol=rtol * scale)


#: Finite-difference steps other than gradcheck's 1e-6. A conjugate-gradient solve near its
#: solution takes its next direction from a small residual, which a perturbation of 1e-6
#: turns: the curvature is of order 1/‖residual‖ and the difference quotient is off by a tenth
#: where autograd's gradient is right (it matches the quotient as the step shrinks to 1e-8).
GRADCHECK_EPS = {"implicit-als": 1e-8}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_update_gradcheck(name):
    """Gradients of one iteration, w.r.t. the state and every param, in float64."""
    A, _, y = example(name, m=6, n=10, batch=2)
    alg = ur.create(name)
    state = alg.init(y, A)
    values = alg.defaults(A)
    for t in range(2):  # move off the all-zero start
        state = alg.update(state, y, A, ur.Layer(values, t))
    leaves, spec = tree_flatten(state)
    is_tensor = [isinstance(v, torch.Tensor) for v in leaves]
    params = {  # scalars, and the matrices some params are (item embeddings)
        n: torch.as_tensor(v, dtype=torch.float64).detach().clone()
        for n, v in values.items()
        if n in alg.params
    }
    inputs = [v.detach().requires_grad_() for v, t in zip(leaves, is_tensor, strict=True) if t]
    inputs += [p.requires_grad_() for p in params.values()]
    names = list(params)

    def one_iteration(*args):
        it = iter(args[: sum(is_tensor)])
        s = tree_unflatten(
            [next(it) if t else v for v, t in zip(leaves, is_tensor, strict=True)], spec
        )
        p = ur.Layer({**values, **dict(zip(names, args[sum(is_tensor) :], strict=True))}, 2)
        out, _ = tree_flatten(alg.update(s, y, A, p))
        return tuple(o for o in out if isinstance(o, torch.Tensor))

    eps = GRADCHECK_EPS.get(name, 1e-6)
    assert torch.autograd.gradcheck(one_iteration, tuple(inputs), eps=eps, atol=1e-5)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_learned_param_gets_a_gradient(name):
    A, x, y = example(name)
    net = build(name, operator=A)
    (net(y) - x).square().sum().backward()
    assert net.learned == tuple(ur.create(name).params)
    for pname, p in net.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64])
def test_dtype_preserved_and_finite(name, dtype):
    A, _, y = example(name, dtype=dtype)
    net = build(name, operator=A)
    for measurement in (y, torch.zeros_like(y)):
        out = net(measurement)
        assert out.dtype == dtype and out.device == y.device
        assert torch.isfinite(out).all()
        out.abs().sum().backward()
        for pname, p in net.named_parameters():
            assert torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", ALGORITHMS)
def test_state_dict_round_trips(name):
    A, _, y = example(name)
    net = build(name, operator=A)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    other = build(name, operator=A)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(y), net(y), rtol=0, atol=0)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_checkpointed_backprop_gives_the_same_gradients(name):
    A, x, y = example(name)
    grads = []
    for backprop in ("full", "checkpoint"):
        net = build(name, operator=A, backprop=backprop)
        (net(y) - x).square().sum().backward()
        grads.append([p.grad for p in net.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("learn", ["all", ()])
def test_compiles_fullgraph(name, learn):
    """Dynamo captures the whole network as one graph (no graph break: no host sync, no
    Python branch on a tensor's value); the graph runs as captured (``backend="eager"``)."""
    torch._dynamo.reset()
    A, _x, y = example(name, dtype=torch.float32)
    net = ur.unroll(ur.create(name), 3, learn=learn, operator=A)
    compiled = torch.compile(net, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(y), net(y), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["ista", "admm", "cg"])
def test_inductor_code_matches_eager(name):
    """Inductor's generated code (the default backend) for a few algorithms' iterations."""
    torch._dynamo.reset()
    A, _x, y = example(name, dtype=torch.float32)
    net = ur.unroll(ur.create(name), 3, learn="all", operator=A)
    compiled = torch.compile(net, fullgraph=True)
    torch.testing.assert_close(compiled(y), net(y), rtol=1e-4, atol=1e-5)
