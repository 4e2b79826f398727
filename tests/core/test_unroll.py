import pytest
import torch
from torch import nn

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import FISTA, ISTA
from unrolled.priors import L1


def test_untied_params_are_stacked_and_tied_shared(problem):
    A, _, _ = problem
    net = ur.unroll(ISTA, 5, learn=["step", "threshold"], tied={"threshold"}, operator=A)
    assert net.params["step"].shape == (5,)
    assert net.params["threshold"].shape == ()
    step = nn.functional.softplus(net.params["step"])
    torch.testing.assert_close(step, torch.full((5,), 1 / A.lipschitz(), dtype=torch.float64))


def test_per_feature_param_needs_and_uses_operator(problem):
    A, _, y = problem
    alg = ISTA(threshold=ur.Param(0.1, positive=True, shape="x"))
    net = ur.unroll(alg, 3, learn="threshold", operator=A)
    assert net.params["threshold"].shape == (3, 40)
    torch.testing.assert_close(net(y), alg.run(y, A, iterations=3))
    with pytest.raises(ValueError, match="operator="):
        ur.unroll(alg, 3, learn="threshold")


def test_rule_default_resolves_on_first_call_without_operator(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 4, learn=["step"]).double()
    out = net(y, A)
    torch.testing.assert_close(out, ISTA().run(y, A, iterations=4))
    assert torch.allclose(
        nn.functional.softplus(net.params["step"]),
        torch.tensor(1 / A.lipschitz(), dtype=torch.float64),
    )


def test_loaded_state_is_not_overwritten_by_lazy_defaults(problem):
    A, _, y = problem
    trained = ur.unroll(ISTA, 4, learn=["step"], operator=A)
    with torch.no_grad():
        trained.params["step"].fill_(-1.0)
    fresh = ur.unroll(ISTA, 4, learn=["step"]).double()
    fresh.load_state_dict(trained.state_dict())
    fresh(y, A)
    torch.testing.assert_close(fresh.params["step"], trained.params["step"])


def test_trace_holds_every_layer(problem):
    A, _, y = problem
    net = ur.unroll(FISTA, 6, operator=A)
    x, trace = net(y, trace=True)
    _x_run, trace_run = FISTA().run(y, A, iterations=6, trace=True)
    assert trace.shape == (6, *y.shape[:1], 40)
    torch.testing.assert_close(trace, trace_run)
    torch.testing.assert_close(x, trace[-1])


def test_run_stops_at_tolerance(problem):
    A, _, y = problem
    _x, trace = ISTA().run(y, A, iterations=5000, tol=1e-6, trace=True)
    assert 1 < len(trace) < 5000
    step = (trace[-1] - trace[-2]).norm(dim=1) / trace[-1].norm(dim=1)
    assert (step <= 1e-6).all()


class LearnedShrink(nn.Module):
    """A learnable prox: per-feature soft threshold scaled by the layer's tau, plus a linear mix."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n, dtype=torch.float64))
        self.mix = nn.Linear(n, n, bias=False, dtype=torch.float64)
        nn.init.zeros_(self.mix.weight)

    def forward(self, v, tau):
        return L1()(v + self.mix(v), tau * self.scale)


@pytest.mark.parametrize("shared", [True, False])
def test_replaced_slot_trains(problem, shared):
    A, x, y = problem
    replace = {"prox": LearnedShrink(40) if shared else (lambda k: LearnedShrink(40))}
    net = ur.unroll(ISTA, 5, learn=["step"], replace=replace, operator=A)
    assert isinstance(net.slots["prox"], nn.ModuleList) != shared
    # the replacement starts as the default map, so the network still equals ISTA
    torch.testing.assert_close(net(y), ISTA().run(y, A, iterations=5))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        loss = (net(y) - x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.7 * first
    for p in net.slots.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_double_moves_bound_operator(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 3, learn="all", operator=ur.Matrix(A.M.float()))
    assert net(y.float()).dtype == torch.float32
    net = net.double()
    assert net.operator.dtype == torch.float64
    assert net(y).dtype == torch.float64


def test_complex_data_stays_complex():
    g = torch.Generator().manual_seed(1)
    M = torch.randn(10, 16, dtype=torch.complex128, generator=g)
    A = ur.Matrix(M)
    y = torch.randn(3, 10, dtype=torch.complex128, generator=g)
    net = ur.unroll(ISTA, 4, learn="all", operator=A)
    assert net.params["step"].dtype == torch.float64
    out = net(y)
    assert out.dtype == torch.complex128
    torch.testing.assert_close(out, ISTA().run(y, A, iterations=4))


# -- clear errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"learn": ["stepp"]},
            ValueError,
            r"learn: ISTA has no param 'stepp'.*\['step', 'threshold'\]",
        ),
        ({"learn": ["prox"]}, ValueError, "a slot: pass it in replace="),
        (
            {"replace": {"proxx": nn.Identity()}},
            ValueError,
            r"replace: ISTA has no slot 'proxx'.*\['prox', 'start'\]",
        ),
        ({"replace": {"prox": 3}}, TypeError, r"replace\['prox'\]: expected an nn.Module"),
        ({"replace": {"prox": lambda k: 3}}, TypeError, "factory must return an nn.Module"),
        ({"learn": ["step"], "tied": ["threshold"]}, ValueError, "tied: 'threshold' is not among"),
        ({"backprop": "recompute"}, ValueError, "backprop: expected one of"),
        ({"operator": torch.eye(3)}, TypeError, "operator: expected a linear operator"),
    ],
)
def test_unroll_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        ur.unroll(ISTA, 3, **kwargs)


@pytest.mark.parametrize("layers", [0, -1, 2.5, True])
def test_bad_layers(layers):
    with pytest.raises(ValueError, match="layers: expected a positive int"):
        ur.unroll(ISTA, layers)


def test_bad_algorithm():
    with pytest.raises(TypeError, match=r"algorithm: expected an unrolled\.Algorithm"):
        ur.unroll(lambda x: x, 3)


def test_negative_fixed_step_is_rejected():
    with pytest.raises(
        ValueError, match=r"step: expected a positive value \(positive=True\), got -1"
    ):
        ISTA(step=-1.0)


def test_unknown_constructor_keyword():
    with pytest.raises(
        TypeError, match=r"unexpected keyword 'stp'.*params are \['step', 'threshold'\]"
    ):
        ISTA(stp=0.1)


def test_wrong_measurement_shape(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 3, operator=A)
    with pytest.raises(ValueError, match=r"y must have shape \(B, 20\), got \(8, 19\)"):
        net(y[:, :19])


def test_real_operator_with_complex_data(problem):
    A, _, y = problem
    with pytest.raises(TypeError, match=r"y is complex.*operator is real"):
        ur.unroll(ISTA, 3, operator=A)(y.to(torch.complex128))


def test_missing_operator(problem):
    _, _, y = problem
    with pytest.raises(ValueError, match="A: no operator given and none bound"):
        ur.unroll(ISTA, 3)(y)


def test_non_tensor_measurement(problem):
    A, _, _ = problem
    with pytest.raises(TypeError, match=r"y: expected a torch\.Tensor, got list"):
        ur.unroll(ISTA, 3, operator=A)([1.0, 2.0])


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"iterations": 0}, "iterations"), ({"tol": -1.0}, "tol")]
)
def test_run_argument_errors(problem, kwargs, match):
    A, _, y = problem
    with pytest.raises(ValueError, match=match):
        ISTA().run(y, A, **kwargs)


def test_iterate_yields_the_runs_iterates(problem):
    A, _, y = problem
    import itertools

    _, trace = ISTA().run(y, A, iterations=5, trace=True)
    for x, expected in zip(itertools.islice(ISTA().iterate(y, A), 5), trace, strict=True):
        torch.testing.assert_close(x, expected)


# -- review findings: each a behaviour a user relies on ----------------------------------------


def test_data_dtype_must_match_learned_params(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 3, learn=["step"])  # float32 params, float64 data
    with pytest.raises(TypeError, match=r"y: dtype torch.float64 does not match.*net.to"):
        net(y, A)


def test_module_slot_default_is_part_of_the_network(problem):
    A, _, y = problem

    class NoisyShrink(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)
            self.gain = nn.Parameter(torch.ones((), dtype=torch.float64))

        def forward(self, v, tau):
            return self.gain * L1()(self.drop(v), tau)

    net = ur.unroll(ISTA(prox=NoisyShrink()), 3, operator=A)
    assert "slots.prox.gain" in net.state_dict()
    net.eval()
    torch.testing.assert_close(net(y), net(y))


def test_tensor_default_follows_the_operator_dtype(problem):
    A, _, y = problem
    alg = ISTA(
        threshold=ur.Param(torch.full((40,), 0.1, dtype=torch.float32), positive=True, shape="x")
    )
    out = ur.unroll(alg, 3, operator=A)(y)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, ISTA().run(y, A, iterations=3))


def test_replace_with_a_class_is_refused():
    with pytest.raises(
        TypeError, match=r"got the class LearnedShrink.*lambda k: LearnedShrink\(\)"
    ):
        ur.unroll(ISTA, 3, replace={"prox": LearnedShrink})


def test_partial_state_dict_keeps_defaults_for_missing_params(problem):
    A, _, y = problem
    trained = ur.unroll(ISTA, 3, learn=["threshold"], operator=A)
    fresh = ur.unroll(ISTA, 3, learn=["step", "threshold"]).double()
    fresh.load_state_dict(trained.state_dict(), strict=False)
    fresh(y, A)
    torch.testing.assert_close(
        fresh.param_values()["step"], torch.full((3,), 1 / A.lipschitz(), dtype=torch.float64)
    )


def test_per_feature_param_rejects_an_operator_of_another_size(problem):
    A, _, y = problem
    net = ur.unroll(
        ISTA(threshold=ur.Param(0.1, positive=True, shape="x")), 3, learn="threshold", operator=A
    )
    other = ur.Matrix(torch.randn(20, 30, dtype=torch.float64))
    with pytest.raises(
        ValueError, match=r"A: the learned per-feature param 'threshold' has shape \(40,\)"
    ):
        net(y, other)


def test_param_values_are_the_constrained_values(problem):
    A, _, _ = problem
    net = ur.unroll(ISTA, 4, learn="all", tied={"threshold"}, operator=A)
    values = net.param_values()
    assert values["step"].shape == (4,) and values["threshold"].shape == ()
    torch.testing.assert_close(values["threshold"], torch.tensor(0.1, dtype=torch.float64))


def test_one_param_object_in_two_iterations_keeps_both_names():
    shared = ur.Param(0.5, positive=True)
    first = ur.iteration(step=shared)(lambda x, y, A, step: x)
    second = ur.iteration(gamma=shared)(lambda x, y, A, gamma: x)
    assert first.params["step"].name == "step" and second.params["gamma"].name == "gamma"


def test_registered_iteration_is_created_fresh():
    @ur.iteration(step=ur.Param(0.5, positive=True))
    def my_test_landweber(x, y, A, step):
        return x - step * A.H(A(x) - y)

    ur.register()(my_test_landweber)
    assert "my_test_landweber" in ur.list_models("algorithm")
    assert type(ur.create("my_test_landweber")) is type(my_test_landweber)


def test_depth_runs_the_first_layers(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 6, learn="all", operator=A)
    x3, trace3 = net(y, trace=True, depth=3)
    assert trace3.shape[0] == 3
    torch.testing.assert_close(x3, ISTA().run(y, A, iterations=3))
    for bad in (0, 7, 2.0):
        with pytest.raises(ValueError, match=r"depth: expected an int in \[1, 6\]"):
            net(y, depth=bad)


def test_layer_parameters_say_which_layer_owns_what(problem):
    A, _, _ = problem
    shared = nn.Linear(2, 2)
    net = ur.unroll(
        ISTA,
        3,
        learn=["step", "threshold"],
        tied={"threshold"},
        replace={"prox": lambda k: L1() if k else nn.Sequential(L1(), nn.Linear(1, 1))},
        operator=A,
    )
    net.extra = shared  # any other parameter is shared by all layers
    owners = net.layer_parameters()
    assert [(n, k, s) for n, _, k, s in owners] == [
        ("params.step", 0, True),
        ("params.step", 1, True),
        ("params.step", 2, True),
        ("params.threshold", None, False),
        ("slots.prox.0.1.weight", 0, False),
        ("slots.prox.0.1.bias", 0, False),
        ("extra.weight", None, False),
        ("extra.bias", None, False),
    ]
    assert all(p is dict(net.named_parameters())[n] for n, p, _, _ in owners)


def test_layer_parameters_of_a_module_shared_by_several_layers_are_shared(problem):
    A, _, _ = problem
    one = nn.Sequential(L1(), nn.Linear(1, 1))
    net = ur.unroll(ISTA, 3, replace={"prox": lambda k: one if k < 2 else L1()}, operator=A)
    assert [(n, k) for n, _, k, _ in net.layer_parameters()] == [
        ("slots.prox.0.1.weight", None),
        ("slots.prox.0.1.bias", None),
    ]


def test_set_initial_moves_an_untrained_start_and_refuses_a_trained_one():
    A, _, _ = sparse_problem()
    net = ur.unroll(ISTA, 3, learn=["step", "threshold"], operator=A)
    assert net.is_untrained("step") and net.is_untrained("threshold")
    net.set_initial("threshold", torch.tensor([0.2, 0.1, 0.05]))
    torch.testing.assert_close(
        net.param_values()["threshold"], torch.tensor([0.2, 0.1, 0.05], dtype=torch.float64)
    )
    assert net.is_untrained("threshold")  # its new start
    with pytest.raises(ValueError, match="cannot learn from a non-positive default"):
        net.set_initial("step", -1.0)
    assert net.is_untrained("step")  # a rejected start leaves the old one
    with torch.no_grad():
        net.params["step"].add_(0.1)
    with pytest.raises(ValueError, match="step: has been trained or loaded"):
        net.set_initial("step", 0.5)
    with pytest.raises(ValueError, match="name: 'W' is not a learned param"):
        net.is_untrained("W")


class _ScaledAdjoint(nn.Module):
    """A learned start ``x_0 = w·Aᴴy``, ``w`` starting at 1."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, y, A):
        return self.w * A.H(y)


def test_init_sees_the_first_layer_so_a_start_slot_can_be_learned(problem):
    A, x, y = problem
    alg = ISTA(start=ur.algorithms.adjoint_start)
    untrained = ur.unroll(alg, 3, learn="step", operator=A)
    torch.testing.assert_close(untrained(y), alg.run(y, A, iterations=3))
    net = ur.unroll(ISTA(), 3, replace={"start": _ScaledAdjoint()}, operator=A)
    torch.testing.assert_close(net(y), alg.run(y, A, iterations=3))
    (net(y) - x).square().sum().backward()
    assert net.slots["start"].w.grad is not None and net.slots["start"].w.grad != 0


def test_a_param_shape_may_be_a_function_of_the_operator(problem):
    A, _, y = problem
    bias = ur.Param(0.0, shape=lambda A: (A.in_shape[0],), doc="a bias per entry")

    @ur.iteration(step=ur.Param("1/L", positive=True), bias=bias)
    def shifted_landweber(x, y, A, step, bias):
        return x - step * A.H(A(x) - y) + bias

    net = ur.unroll(shifted_landweber, 2, learn=["step", "bias"], operator=A)
    assert net.params["bias"].shape == (2, 40)
    torch.testing.assert_close(net(y), shifted_landweber.run(y, A, iterations=2))
    with pytest.raises(ValueError, match="operator="):
        ur.unroll(shifted_landweber, 2, learn="bias")
    other = ur.Matrix(torch.randn(20, 30, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"A: the learned param 'bias' has shape \(40,\)"):
        net(torch.randn(2, 20, dtype=torch.float64), other)
    with pytest.raises(ValueError, match="shape"):
        ur.unroll(
            ur.iteration(b=ur.Param(0.0, shape=lambda A: (0,)))(lambda x, y, A, b: x),
            2,
            learn="b",
            operator=A,
        )


def test_replaced_modules_follow_the_operator_dtype(problem):
    A, _, y = problem  # float64
    net = ur.unroll(ISTA(), 2, replace={"prox": lambda k: _Prox()}, operator=A)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net(y).dtype == torch.float64


class _Prox(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float32))

    def forward(self, v, tau):
        return self.scale * L1()(v, tau)


def test_non_finite_measurements_are_refused_at_the_first_call(problem):
    A, _, y = problem
    net = ur.unroll(ISTA, 3, learn=["step"], operator=A)
    bad = y.clone()
    bad[2, 0] = torch.nan
    bad[5, 1] = torch.inf
    with pytest.raises(
        ValueError,
        match=r"y: expected finite values, got NaN or Inf in 2 of 8 samples \(the first: sample 2\)",
    ):
        net(bad)
    net(y)  # checked once: later calls (the training loop's) read nothing on the host
    net(bad)
    trusted = ur.unroll(ISTA, 3, learn=["step"], operator=A)
    trusted.check_inputs = False
    assert torch.isnan(trusted(bad)).any()


def test_depth_is_bounded_before_anything_is_allocated():
    with pytest.raises(ValueError, match=r"layers: expected at most 10000 .* got 1000000000"):
        ur.unroll(ISTA, 10**9)
