"""DESIGN.md invariant 3 for every registered model (a new one is checked for free).

Factories take ``operator=``, ``layers=`` and ``backprop=``. A model may hold a parameter that
is not learned (ALISTA's analytic W, ``requires_grad=False``): "learned" below means
``requires_grad``.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem

MODELS = ur.list_models("model")
LAYERS = 6


def build(name, A, layers=LAYERS, **kwargs):
    return ur.create(name, operator=A, layers=layers, **kwargs)


def learned(net):
    return [(n, p) for n, p in net.named_parameters() if p.requires_grad]


def test_the_lista_family_is_registered():
    assert {"lista", "lista-cp", "lista-cpss", "alista", "lamp", "steplista"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_factory_takes_the_common_keywords_and_documents_its_paper(name):
    factory = ur.core.get(name)
    params = inspect.signature(factory).parameters
    assert {"operator", "layers", "backprop"} <= set(params)
    doc = inspect.getdoc(factory)
    assert doc and "20" in doc.split("\n")[0]  # the paper's year on the summary line
    assert "Departures from the paper" in doc


@pytest.mark.parametrize("name", MODELS)
def test_every_learned_param_gets_a_finite_nonzero_gradient(name):
    A, x, y = sparse_problem()
    net = build(name, A)
    assert isinstance(net, ur.Unrolled) and net.layers == LAYERS
    (net(y) - x).square().sum().backward()
    assert learned(net)
    for pname, p in learned(net):
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_dtype_preserved_and_finite_on_zero_and_random_input(name, dtype):
    A, _, y = sparse_problem(dtype=dtype)
    net = build(name, A)
    for p in net.parameters():
        assert p.dtype == dtype
    for measurement in (y, torch.zeros_like(y)):
        net.zero_grad()
        out = net(measurement)
        assert out.dtype == dtype and out.device == y.device and out.shape == (y.shape[0], 40)
        assert torch.isfinite(out).all()
        out.abs().sum().backward()
        for pname, p in learned(net):
            assert torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_round_trips(name):
    A, _, y = sparse_problem()
    net = build(name, A)
    with torch.no_grad():
        for _, p in learned(net):
            p.add_(0.01 * torch.randn_like(p))
    other = build(name, A)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(y), net(y), rtol=0, atol=0)
    assert [p.requires_grad for p in other.parameters()] == [
        p.requires_grad for p in net.parameters()
    ]


@pytest.mark.parametrize("name", MODELS)
def test_checkpointed_backprop_gives_the_same_gradients(name):
    A, x, y = sparse_problem()
    grads = []
    for backprop in ("full", "checkpoint"):
        net = build(name, A, backprop=backprop)
        assert net.backprop == backprop
        (net(y) - x).square().sum().backward()
        grads.append([p.grad for _, p in learned(net)])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_compiles_fullgraph_and_matches_eager(name):
    torch._dynamo.reset()
    A, _, y = sparse_problem(dtype=torch.float32)
    net = build(name, A, layers=3)
    compiled = torch.compile(net, fullgraph=True)
    torch.testing.assert_close(compiled(y), net(y), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"steplista"}))
def test_matrix_models_need_a_real_vector_operator(name):
    with pytest.raises(ValueError, match=r"operator: .*pass operator=A"):
        ur.create(name, layers=3)
    A, _, _ = sparse_problem(dtype=torch.complex128)
    with pytest.raises(TypeError, match=r"operator: .*complex"):
        ur.create(name, operator=A, layers=3)
    per_sample = ur.Matrix(torch.randn(2, 5, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="per-sample"):
        ur.create(name, operator=per_sample, layers=3)
    with pytest.raises(TypeError, match="operator"):
        ur.create(name, operator=torch.randn(5, 8), layers=3)
