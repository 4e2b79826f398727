import pytest
import torch

import unrolled as ur
from unrolled.core import Rule
from unrolled.ops import Matrix


@pytest.mark.parametrize(
    "spec",
    [
        ur.Param(0.3),
        ur.Param(0.3, positive=True),
        ur.Param(1e-4, positive=True),
        ur.Param(25.0, positive=True),
        ur.Param(0.3, between=(0.0, 1.0)),
        ur.Param(-2.0, between=(-3.0, 5.0)),
        ur.Param(1.0, log=True),
        ur.Param(350.0, log=True),
    ],
)
def test_reparametrisation_starts_exactly_at_default(spec):
    value = torch.tensor(spec.default, dtype=torch.float64)
    assert torch.allclose(spec.from_raw(spec.to_raw(value)), value, rtol=1e-12, atol=0)


def test_learned_value_keeps_constraint():
    positive, unit = ur.Param(0.5, positive=True), ur.Param(0.5, between=(0.0, 1.0))
    raw = torch.linspace(-50, 50, 101, dtype=torch.float64)
    assert (positive.from_raw(raw) > 0).all()
    assert ((unit.from_raw(raw) >= 0) & (unit.from_raw(raw) <= 1)).all()
    assert (ur.Param(0.5, log=True).from_raw(raw) > 0).all()


def test_a_log_param_moves_by_factors_where_softplus_moves_by_steps():
    # five units of raw multiply a log param by e⁵; softplus(raw) grows by less than five
    one = torch.tensor(1.0, dtype=torch.float64)
    log, softplus = ur.Param(1.0, log=True), ur.Param(1.0, positive=True)
    assert float(log.from_raw(log.to_raw(one) + 5.0)) == pytest.approx(torch.e**5)
    assert float(softplus.from_raw(softplus.to_raw(one) + 5.0)) < 1.0 + 5.0


def test_rule_default_resolves_against_operator():
    A = Matrix(torch.diag(torch.tensor([1.0, 2.0, 4.0])))
    assert ur.Param("1/L").resolve(A) == pytest.approx(1 / 16)
    assert ur.Param(lambda A: 3 * A.lipschitz()).resolve(A) == pytest.approx(48)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"default": -1.0, "positive": True}, "positive"),
        ({"default": 2.0, "between": (0.0, 1.0)}, r"\[0, 1\]"),
        ({"default": "1/X"}, "unknown rule"),
        ({"default": [1.0]}, "default must be"),
        ({"default": 0.5, "between": (1.0, 0.0)}, "lo < hi"),
        ({"default": 0.5, "shape": (0,)}, "shape"),
        ({"default": float("nan")}, "finite"),
        ({"default": 0.5, "positive": True, "between": (0.0, 1.0)}, "at most one"),
        ({"default": 0.5, "positive": True, "log": True}, "at most one"),
        ({"default": 0.0, "log": True}, r"positive value \(log=True\)"),
    ],
)
def test_bad_param_raises_naming_the_problem(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ur.Param(**kwargs)


def test_boundary_default_cannot_be_learned():
    spec = ur.Param(0.0, between=(0.0, 1.0))
    with pytest.raises(ValueError, match="strictly inside"):
        spec.to_raw(torch.tensor(0.0))


def test_slot_default_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        ur.Slot(3.0)


def test_a_subclass_drops_an_inherited_param_by_setting_it_to_none():
    class Base(ur.Algorithm):
        step = ur.Param(0.5)
        alpha = ur.Param(1.0)

        def init(self, y, A):
            return y

        def update(self, x, y, A, p):
            return x

    class Child(Base):
        alpha = None
        beta = ur.Param(2.0)

    assert set(Child.param_specs) == {"step", "beta"}
    assert set(Base.param_specs) == {"step", "alpha"}
    with pytest.raises(TypeError, match="unexpected keyword 'alpha'"):
        Child(alpha=3.0)


def test_an_operator_sized_param_is_fixed_to_known_sizes_and_names_a_readable_rule():
    spec = ur.Param(Rule(lambda A: A.M.mT, "Aᵀ"), shape=lambda A: (*A.in_shape, *A.out_shape))
    assert repr(spec).startswith("Param(Aᵀ")
    A = Matrix(torch.randn(3, 5, dtype=torch.float64))
    assert spec.resolved_shape(A) == (5, 3)
    sized = spec.with_shape((5, 3))
    assert sized.shape == (5, 3) and spec.shape != (5, 3)
    with pytest.raises(ValueError, match=r"shape \(\) or \(5, 3\)"):
        spec.with_default(torch.zeros(3, 5)).with_shape((5, 3))
    with pytest.raises(TypeError, match="callable"):
        Rule(3.0, "three")
