"""DESIGN.md invariant 3 for every registered model (a new one is checked for free).

Factories take ``operator=``, ``layers=`` and ``backprop=``. Each model is checked on every
example problem its factory accepts (a vector problem for the LISTA family, real and complex
images for the imaging zoo, MIMO channels for the detectors); every model must accept at least one. A model may hold a parameter
that is not learned (ALISTA's analytic W, ``requires_grad=False``): "learned" below means
``requires_grad``.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import unrolled as ur
from tests.conftest import graph_problem, mimo_problem, ratings_problem, sparse_problem
from unrolled.data.measurements import random_kernels
from unrolled.ops import MRI, SENSE, Blur, Downsample, coil_maps, masks
from unrolled.train.config import FitConfig, prepare_model, resolve_settings
from unrolled.train.device import Precision
from unrolled.train.losses import supervised_loss

MODELS = ur.list_models("model")
LAYERS = 6
SIDE = 32  # a U-Net of 4 pools still has 2×2 pixels at the bottom


def _blur(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    A = Blur(random_kernels(2, 5, "gaussian", generator=g, dtype=dtype), (1, SIDE, SIDE))
    x = torch.rand(2, 1, SIDE, SIDE, generator=g, dtype=dtype)
    return A, x, A(x) + 0.01 * torch.randn(x.shape, generator=g, dtype=dtype)


def _downsample(dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    A = Downsample(torch.full((3, 3), 1 / 9, dtype=dtype), 2, (1, SIDE, SIDE))
    x = torch.rand(2, 1, SIDE, SIDE, generator=g, dtype=dtype)
    return A, x, A(x)


def _mri(dtype=torch.float64, coils=1):
    g = torch.Generator().manual_seed(2)
    mask = masks.random_lines((SIDE, SIDE), 2, 0.25, generator=g, batch=2)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    A = (
        MRI(mask, dtype=cdtype)
        if coils == 1
        else SENSE(mask, coil_maps(coils, (SIDE, SIDE)).to(cdtype))
    )
    x = torch.rand(2, SIDE, SIDE, generator=g, dtype=dtype).to(cdtype)
    return A, x, A(x)


def _sense(dtype=torch.float64):
    return _mri(dtype, coils=3)


def _vector(dtype=torch.float64):
    A, x, y = sparse_problem(dtype=dtype)
    return A, x, y


def _channel(dtype=torch.float64):
    """MIMO detection: a complex channel per sample, QPSK."""
    return mimo_problem(dtype=torch.complex128 if dtype == torch.float64 else torch.complex64)


def _real_channel(dtype=torch.float64):
    """MIMO detection over a real channel (BPSK-like levels)."""
    return mimo_problem(dtype=dtype)


def _ratings(dtype=torch.float64):
    """Matrix completion: a rating matrix per sample behind its mask."""
    return ratings_problem(dtype=dtype)


def _emission(dtype=torch.float64):
    """Poisson counts of a blur with a background (a microscope's Richardson–Lucy setting; a
    dense operator, so it compiles where the sparse Radon transform cannot)."""
    g = torch.Generator().manual_seed(4)
    A = 20 * Blur(random_kernels(2, 5, "gaussian", generator=g, dtype=dtype), (1, SIDE, SIDE))
    A.background = 0.5
    x = torch.rand(2, 1, SIDE, SIDE, generator=g, dtype=dtype)
    return A, x, torch.poisson(A(x) + A.background, generator=g)


def _graph(dtype=torch.float64):
    """Implicit feedback: users' interactions propagated on the item graph."""
    return graph_problem(dtype=dtype)


EXAMPLES = {
    "vector": _vector,
    "graph": _graph,
    "channel": _channel,
    "real-channel": _real_channel,
    "ratings": _ratings,
    "blur": _blur,
    "downsample": _downsample,
    "mri": _mri,
    "sense": _sense,
    "emission": _emission,
}
#: Models of Poisson counts (EM): they take the emission example only (the others' data can be
#: negative).
COUNTS = {"em-net"}
#: Models of implicit feedback: the graph example only (whose square item graph any matrix
#: model would also accept, on data it is not meant for).
GRAPH = {"graph-filter-net", "implicit-als-net", "lightgcn"}


def _accepts(name, example):
    if (name in COUNTS) != (example == "emission") or (name in GRAPH) != (example == "graph"):
        return False
    A, _, _ = EXAMPLES[example]()
    try:
        ur.create(name, operator=A, layers=2)
    except (ValueError, TypeError):
        return False
    return True


CASES = [(name, ex) for name in MODELS for ex in EXAMPLES if _accepts(name, ex)]
IDS = [f"{name}-{ex}" for name, ex in CASES]
#: One case per model (its first example) for the slower checks.
FIRST = list({name: (name, ex) for name, ex in reversed(CASES)}.values())


def build(name, A, layers=LAYERS, **kwargs):
    return ur.create(name, operator=A, layers=layers, **kwargs)


def learned(net):
    return [(n, p) for n, p in net.named_parameters() if p.requires_grad]


def nudge(net, scale=0.01):
    """A small random step on every learned parameter: a zero-initialised last layer (an
    identity start) passes no gradient upstream until it has moved."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _, p in learned(net):
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))


def loss(out, x):
    return (out - x).abs().square().sum()


@pytest.mark.parametrize("name", MODELS)
def test_every_model_accepts_an_example_problem(name):
    assert any(n == name for n, _ in CASES)


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


@pytest.mark.parametrize(("name", "example"), CASES, ids=IDS)
def test_every_learned_param_gets_a_finite_nonzero_gradient(name, example):
    A, x, y = EXAMPLES[example]()
    net = build(name, A)
    assert net.layers == LAYERS
    nudge(net)
    loss(net(y, A), x).backward()
    assert learned(net)
    for pname, p in learned(net):
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize(("name", "example"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_dtype_preserved_and_finite_on_zero_and_random_input(name, example, dtype):
    A, x, y = EXAMPLES[example](dtype)
    net = build(name, A, layers=3)
    for p in net.parameters():
        assert p.dtype == dtype
    for measurement in (y, torch.zeros_like(y)):
        net.zero_grad()
        out = net(measurement, A)
        assert out.dtype == x.dtype and out.device == y.device and out.shape == x.shape
        assert torch.isfinite(out).all()
        out.abs().sum().backward()
        for pname, p in learned(net):
            assert p.grad is None or torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize(("name", "example"), FIRST, ids=[n for n, _ in FIRST])
def test_state_dict_round_trips(name, example):
    A, _, y = EXAMPLES[example]()
    net = build(name, A, layers=3)
    nudge(net)
    other = build(name, A, layers=3)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(y, A), net(y, A), rtol=0, atol=0)
    assert [p.requires_grad for p in other.parameters()] == [
        p.requires_grad for p in net.parameters()
    ]


@pytest.mark.parametrize(("name", "example"), CASES, ids=IDS)
def test_checkpointed_backprop_gives_the_same_gradients(name, example):
    A, x, y = EXAMPLES[example]()
    grads = []
    for backprop in ("full", "checkpoint"):
        torch.manual_seed(0)  # the same initial weights
        net = build(name, A, layers=3, backprop=backprop)
        assert net.backprop == backprop
        nudge(net)
        loss(net(y, A), x).backward()
        grads.append([p.grad for _, p in learned(net)])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(("name", "example"), FIRST, ids=[n for n, _ in FIRST])
def test_compiles_fullgraph(name, example):
    """Dynamo captures the whole network as one graph (no graph break: no host sync, no
    Python branch on a tensor's value); the graph runs as captured (``backend="eager"``;
    inductor's code is checked once per domain below)."""
    torch._dynamo.reset()
    A, _, y = EXAMPLES[example](torch.float32)
    net = build(name, A, layers=2)
    net.eval()  # batch statistics would differ between the two calls' batches otherwise
    compiled = torch.compile(net, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(y, A), net(y, A), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "name", sorted({n for n, _ in CASES} - {n for n, ex in CASES if ex != "vector"})
)
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


@pytest.mark.parametrize(("name", "example"), FIRST, ids=[n for n, _ in FIRST])
def test_the_recipe_is_valid_for_fit_and_says_where_its_numbers_come_from(name, example):
    A, x, y = EXAMPLES[example]()
    net = build(name, A, layers=3)
    assert isinstance(net.recipe, ur.Recipe) and net.recipe is ur.recipe_of(name)
    assert net.recipe.notes and net.recipe.summary()

    class Problem:  # what fit reads of a problem before training
        validation = (x, y) if getattr(A, "batch_size", None) is None else (x, y, A)

    for given in ({}, {"max_seconds": 60.0}, {"max_steps": 5, "lr": 1e-4}):
        settings = resolve_settings(net, Problem, given)
        config = FitConfig.checked(net.layers, x.shape[0], **settings)
        assert all(getattr(config, k) == v for k, v in given.items())
    prepare_model(net, Problem)
    assert torch.isfinite(net(y, A)).all()


#: The model the per-domain checks use for each example problem: the throughput benchmark's
#: model of the domain where it has one (a new example falls back to its first model).
DOMAIN_MODELS = {
    "vector": "alista",
    "channel": "oamp-net2",
    "real-channel": "detnet",
    "ratings": "als-net",
    "blur": "ista-net",
    "downsample": "ista-net-plus",
    "mri": "modl",
    "sense": "varnet",
}


def _one_per_domain():
    """One case per example problem (each domain's operators once): the slower checks."""
    chosen = []
    for example in EXAMPLES:
        names = [n for n, ex in CASES if ex == example]
        chosen.append(
            (DOMAIN_MODELS[example] if DOMAIN_MODELS.get(example) in names else names[0], example)
        )
    return chosen


DOMAINS = _one_per_domain()


def _training_loss(net, A, x, y):
    return supervised_loss(net, x, y, net.layers, (0.0,) * (net.layers - 1) + (1.0,), "nmse", A)


REAL_DOMAINS = [(n, e) for n, e in DOMAINS if not EXAMPLES[e]()[2].is_complex()]


@pytest.mark.parametrize(
    ("name", "example"), REAL_DOMAINS, ids=[f"{n}-{e}" for n, e in REAL_DOMAINS]
)
def test_inductor_code_matches_eager(name, example):
    """Inductor's generated code (`fit`'s backend for real data), once per real domain. For
    complex data `fit` does not use inductor (see `unrolled.train.device.compile_model`)."""
    torch._dynamo.reset()
    A, _, y = EXAMPLES[example](torch.float32)
    net = build(name, A, layers=2)
    net.eval()
    compiled = torch.compile(net, fullgraph=True)
    torch.testing.assert_close(compiled(y, A), net(y, A), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("name", "example"), DOMAINS, ids=[f"{n}-{e}" for n, e in DOMAINS])
def test_training_step_compiles_to_one_graph(name, example):
    """Forward and backward of a training step trace as one graph (``fullgraph=True``): a
    graph break there would be a host synchronisation in the hot path (DESIGN.md invariant 4).
    AOTAutograd traces the backward too; code generation (inductor) is left to the
    forward-equivalence test above."""
    torch._dynamo.reset()
    A, x, y = EXAMPLES[example](torch.float32)
    net = build(name, A, layers=2)
    nudge(net)
    step = torch.compile(
        lambda y, A: _training_loss(net, A, x, y), fullgraph=True, backend="aot_eager"
    )
    step(y, A).backward()
    for n, p in learned(net):
        assert p.grad is not None and torch.isfinite(p.grad).all(), n


@pytest.mark.parametrize(("name", "example"), CASES, ids=IDS)
def test_training_step_in_bf16(name, example):
    """A training step under bf16 autocast (as ``fit(precision="bf16")`` takes it): a finite
    fp32 loss and a finite gradient for every learned parameter, which stays fp32."""
    A, x, y = EXAMPLES[example](torch.float32)
    net = build(name, A, layers=2)
    nudge(net)
    with Precision("bf16", torch.device("cpu")).autocast():
        value = _training_loss(net, A, x, y)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    value.backward()
    for n, p in learned(net):
        assert p.dtype == torch.float32, n
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
