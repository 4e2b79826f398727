"""Priors: proximal maps ``prox_{τR}(v) = argmin_x ½‖x − v‖² + τ R(x)`` and values ``R(x)``."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from unrolled.priors import (
    L1,
    L2,
    Box,
    NonNegative,
    Prior,
    Tikhonov,
    basic,
    soft_threshold,
    soft_threshold_support,
    support_count,
)

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
ids = lambda d: str(d).removeprefix("torch.")  # noqa: E731


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def reference_soft_threshold(v: Tensor, tau) -> Tensor:
    return torch.sign(v) * torch.clamp(v.abs() - tau, min=0)


# -- soft thresholding, real ----------------------------------------------------------------------

TAUS = {
    "float": 0.5,
    "zero": 0.0,
    "scalar-tensor": torch.tensor(0.5, dtype=torch.float64),
    "per-feature": torch.linspace(0.0, 1.5, 6, dtype=torch.float64),
    "per-sample": torch.tensor([[0.2], [0.9], [2.0], [0.0]], dtype=torch.float64),
}


@pytest.mark.parametrize("prox", [soft_threshold, L1()], ids=["function", "L1"])
@pytest.mark.parametrize("tau", list(TAUS.values()), ids=list(TAUS))
def test_soft_threshold_real(prox, tau) -> None:
    v = 2 * randn(4, 6)
    out = prox(v, tau)
    torch.testing.assert_close(out, reference_soft_threshold(v, tau))
    assert out.shape == v.shape and out.dtype == v.dtype


@pytest.mark.parametrize("tau", list(TAUS.values()), ids=list(TAUS))
def test_soft_threshold_gradients_are_the_plain_definitions(tau) -> None:
    """The fast formulation (`soft_threshold`) against ``sign(v)·max(|v| − τ, 0)``: the same
    gradient in ``v`` and in a learned ``τ``, away from the kinks ``|v| = τ``."""
    v = 2 * randn(4, 6)
    grads = []
    for f in (soft_threshold, reference_soft_threshold):
        w = v.clone().requires_grad_()
        t = torch.as_tensor(tau, dtype=torch.float64).clone().requires_grad_()
        (f(w, t) * randn(4, 6, seed=2)).sum().backward()
        grads.append((w.grad, t.grad))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("formulation", ["host-number", "clamp"])
@pytest.mark.parametrize("shape", [(), (1, 1)], ids=["0-dim", "1x1"])
def test_learned_scalar_threshold_function_is_the_plain_definition(
    formulation, shape, monkeypatch
) -> None:
    """The hand-written backward of a learned one-element τ (`_SoftThreshold`), in both forward
    formulations (``softshrink`` with τ read on the host; ``v − clamp(v, −τ, τ)`` off the CPU):
    values, first and second derivatives against ``sign(v)·max(|v| − τ, 0)``."""
    if formulation == "clamp":
        monkeypatch.setattr(basic, "_host_threshold", lambda v, tau: None)  # as off the CPU
    v = 2 * randn(4, 6)
    g = randn(4, 6, seed=2)
    results = []
    for f in (soft_threshold, reference_soft_threshold):
        w = v.clone().requires_grad_()
        t = torch.full(shape, 0.7, dtype=torch.float64, requires_grad=True)
        out = f(w, t)
        gw, gt = torch.autograd.grad((out * g).sum(), (w, t), create_graph=True)
        (gt.sum() + (gw * g).sum()).backward()  # through the backward: zero a.e., but defined
        second = [torch.zeros_like(z) if z.grad is None else z.grad for z in (w, t)]
        results.append((out, gw, gt, *second))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
    t = torch.full(shape, 0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, t: soft_threshold(w, t), (v.requires_grad_(), t))


def test_learned_threshold_of_another_dtype_or_a_negative_one() -> None:
    """A 0-dim float64 τ on float32 data gives float32 (as type promotion would); a negative
    learned τ (no constraint) gives what the clamp formulation gives, not softshrink's error."""
    v = randn(3, 5, dtype=torch.float32)
    out = soft_threshold(v, torch.tensor(0.3, dtype=torch.float64))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference_soft_threshold(v, 0.3))
    tau = torch.tensor(-0.2, dtype=torch.float32)
    torch.testing.assert_close(soft_threshold(v, tau), v - v.clamp(-tau, tau))


@pytest.mark.parametrize("tau", [math.inf, torch.tensor(math.inf)], ids=["float", "tensor"])
def test_an_infinite_threshold_shrinks_everything_to_zero(tau) -> None:
    assert torch.equal(soft_threshold(randn(3, 5), tau), torch.zeros(3, 5, dtype=torch.float64))
    assert soft_threshold(randn(3, 5), torch.tensor(math.nan)).isnan().all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=ids)
def test_soft_threshold_float_tau_keeps_dtype(dtype) -> None:
    v = randn(3, 5, dtype=dtype)
    out = soft_threshold(v, 0.3)
    assert out.dtype == dtype
    torch.testing.assert_close(out, reference_soft_threshold(v, 0.3))


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=ids)
@pytest.mark.parametrize("shape", [(), (5,)], ids=["scalar", "per-feature"])
def test_soft_threshold_gradcheck_in_tau(shape, dtype) -> None:
    v = 2 * randn(3, 5, dtype=dtype)
    tau = 0.3 + torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    tau.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: soft_threshold(v, t), (tau,))
    assert torch.autograd.gradcheck(
        lambda w: soft_threshold(w, tau.detach()), (v.requires_grad_(),)
    )


def test_negative_float_tau_raises() -> None:
    for v in (randn(2, 3), randn(2, 3, dtype=torch.complex128)):
        for prox in (soft_threshold, L1(), L2()):
            with pytest.raises(ValueError, match=r"tau: expected a threshold >= 0, got -0\.1"):
                prox(v, -0.1)


# -- soft thresholding, complex -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=ids)
@pytest.mark.parametrize("tau", [0.7, torch.tensor(0.7)], ids=["float", "tensor"])
def test_soft_threshold_complex_shrinks_modulus_keeps_phase(dtype, tau) -> None:
    v = 2 * randn(4, 8, dtype=dtype)
    out = L1()(v, tau)
    assert out.dtype == dtype
    torch.testing.assert_close(out.abs(), torch.clamp(v.abs() - 0.7, min=0))
    kept = out.abs() > 0
    assert kept.any() and (~kept).any()
    torch.testing.assert_close(torch.sgn(out)[kept], torch.sgn(v)[kept])


def test_soft_threshold_complex_zero_input_no_nan() -> None:
    v = randn(2, 4, dtype=torch.complex128)
    v[:, :2] = 0
    v.requires_grad_()
    tau = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    out = soft_threshold(v, tau)
    assert torch.isfinite(torch.view_as_real(out)).all()
    assert torch.all(out[:, :2] == 0)
    w = randn(2, 4, dtype=torch.complex128, seed=1)
    (out.conj() * w).real.sum().backward()
    assert torch.isfinite(torch.view_as_real(v.grad)).all() and torch.isfinite(tau.grad)
    assert torch.all(v.grad[:, :2] == 0)


# -- soft thresholding with support selection ----------------------------------------------------


@pytest.mark.parametrize(("fraction", "count"), [(0.0, 0), (0.012, 6), (0.024, 12), (0.13, 65)])
def test_support_count_rounds_to_nearest(fraction, count) -> None:
    assert support_count(fraction, 500) == count
    assert support_count(0.0049, 100) == 0 and support_count(0.005, 100) == 1


@pytest.mark.parametrize("fraction", [-0.1, 1.5, torch.tensor(0.1)])
def test_support_count_rejects_bad_fractions(fraction) -> None:
    with pytest.raises(ValueError, match="fraction: expected a number in"):
        support_count(fraction, 10)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, 1.0])
@pytest.mark.parametrize("shape", [(7, 40), (3, 4, 10)], ids=["vectors", "images"])
def test_support_selection_keeps_exactly_the_largest(fraction, shape) -> None:
    v = 2 * randn(*shape, seed=3)
    v[v.abs() < 0.3] = 0.5  # every entry above the threshold, so the count is exact
    tau = torch.tensor(0.25, dtype=torch.float64)
    out = soft_threshold_support(v, tau, fraction)
    count = round(fraction * v[0].numel())
    kept = (out == v).flatten(1)
    assert kept.sum(1).tolist() == [count] * shape[0]
    shrunk = soft_threshold(v, tau)
    torch.testing.assert_close(out[out != v], shrunk[out != v])
    mag = v.abs().flatten(1)
    if 0 < count < mag.shape[1]:  # the kept ones are the largest of their sample
        assert (
            torch.where(kept, mag, torch.inf).amin(1) >= torch.where(kept, 0, mag).amax(1)
        ).all()


def test_support_selection_skips_entries_below_the_threshold_and_handles_ties() -> None:
    v = torch.tensor([[3.0, -0.1, 0.05, 2.0], [1.0, 1.0, 1.0, 1.0]])
    out = soft_threshold_support(v, 0.5, 0.75)  # 3 of 4 selected, but only those above τ
    torch.testing.assert_close(out[0], torch.tensor([3.0, 0.0, 0.0, 2.0]))
    assert (out[1] == 1.0).sum() == 3 and (out[1] == 0.5).sum() == 1  # ties: exactly 3
    torch.testing.assert_close(soft_threshold_support(v, 0.5, 0.0), soft_threshold(v, 0.5))


def test_support_selection_gradients() -> None:
    v = 2 * randn(3, 10, seed=4)
    tau = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_threshold_support(v, t, 0.2), (tau,))
    w = v.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda u: soft_threshold_support(u, 0.4, 0.2), (w,))


def test_support_selection_complex_and_compiled() -> None:
    v = 2 * randn(3, 10, dtype=torch.complex128, seed=5)
    out = soft_threshold_support(v, 0.3, 0.2)
    assert ((out == v).sum(1) == 2).all()
    torch._dynamo.reset()
    f = torch.compile(soft_threshold_support, fullgraph=True)
    r = 2 * randn(4, 50, dtype=torch.float32, seed=6)
    torch.testing.assert_close(f(r, 0.3, 0.1), soft_threshold_support(r, 0.3, 0.1))


def test_support_selection_needs_a_batch() -> None:
    with pytest.raises(ValueError, match=r"v: expected a batch"):
        soft_threshold_support(randn(5), 0.1, 0.2)


# -- prox optimality (property) -------------------------------------------------------------------


def objective(prior: Prior, x: Tensor, v: Tensor, tau: float) -> Tensor:
    """½‖x − v‖² + τR(x), per sample."""
    return 0.5 * (x - v).abs().square().flatten(1).sum(1) + tau * prior.value(x)


@pytest.mark.parametrize("prior", [L1(), L2()], ids=["L1", "L2"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=ids)
@PROPERTY
@given(
    n=st.integers(1, 8),
    tau=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**16),
    step=st.sampled_from([1e-4, 1e-2, 1.0]),
)
def test_prox_is_the_argmin(prior: Prior, dtype, n, tau, seed, step) -> None:
    """The objective is 1-strongly convex, so at its minimiser p: f(p + d) ≥ f(p) + ½‖d‖²."""
    g = torch.Generator().manual_seed(seed)
    v = 2 * torch.randn(1, n, generator=g, dtype=dtype)
    p = prior(v, tau)
    d = step * torch.randn(16, n, generator=g, dtype=dtype)
    gain = objective(prior, p + d, v, tau) - objective(prior, p, v, tau)
    assert torch.all(gain >= 0.5 * d.abs().square().sum(1) - 1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex128], ids=ids)
def test_l2_prox_closed_form(dtype) -> None:
    v = randn(3, 4, dtype=dtype)
    torch.testing.assert_close(L2()(v, 0.5), v / 1.5)
    tau = torch.tensor([[0.0], [1.0], [3.0]])
    torch.testing.assert_close(Tikhonov()(v, tau), v / (1 + tau))


# -- projections ----------------------------------------------------------------------------------


def test_nonnegative_projection() -> None:
    v = randn(3, 5)
    torch.testing.assert_close(NonNegative()(v, 0.3), torch.clamp(v, min=0))
    assert NonNegative()(v).min() >= 0


@pytest.mark.parametrize(
    ("lo", "hi"), [(0.0, 1.0), (-0.5, 0.25), (None, 0.0), (0.0, None), (-1, 1)]
)
def test_box_projection(lo, hi) -> None:
    v = 2 * randn(3, 5)
    expected = v.clamp(min=lo, max=hi)
    torch.testing.assert_close(Box(lo, hi)(v), expected)
    torch.testing.assert_close(Box(lo, hi)(v, 5.0), expected)  # tau has no effect


@pytest.mark.parametrize(
    ("lo", "hi", "error", "message"),
    [
        (1.0, 1.0, ValueError, r"expected lo < hi, got lo=1\.0, hi=1\.0"),
        (2.0, 1.0, ValueError, r"expected lo < hi, got lo=2\.0, hi=1\.0"),
        (None, None, ValueError, r"give at least one of lo and hi"),
        ("0", 1.0, TypeError, r"lo: expected a number or None, got str"),
        (0.0, torch.tensor(1.0), TypeError, r"hi: expected a number or None, got Tensor"),
    ],
    ids=["equal", "reversed", "unbounded", "lo-str", "hi-tensor"],
)
def test_box_errors(lo, hi, error, message) -> None:
    with pytest.raises(error, match=message):
        Box(lo, hi)


@pytest.mark.parametrize("prior", [NonNegative(), Box(0.0, 1.0)], ids=["NonNegative", "Box"])
def test_projections_reject_complex(prior) -> None:
    v = randn(2, 3, dtype=torch.complex64)
    with pytest.raises(TypeError, match=r"needs real signals, got torch\.complex64"):
        prior(v, 1.0)
    with pytest.raises(TypeError, match=r"needs real signals, got torch\.complex64"):
        prior.value(v)


# -- values ---------------------------------------------------------------------------------------


def test_values_are_per_sample() -> None:
    x = randn(4, 3, 5)
    x[0] = x[0].abs()
    x[1] = x[1].abs().clamp(max=1.0)
    flat = x.flatten(1)
    torch.testing.assert_close(L1().value(x), flat.abs().sum(1))
    torch.testing.assert_close(L2().value(x), 0.5 * flat.square().sum(1))
    nonneg, box = NonNegative().value(x), Box(0.0, 1.0).value(x)
    inf = torch.inf
    assert nonneg.shape == box.shape == (4,)
    assert nonneg.tolist() == [0.0, 0.0, inf, inf] and box.tolist() == [inf, 0.0, inf, inf]
    complex_x = randn(4, 3, dtype=torch.complex128)
    torch.testing.assert_close(L1().value(complex_x), complex_x.abs().sum(1))
    assert L2().value(complex_x).dtype == torch.float64


def test_prior_base_class_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Prior()(randn(1, 2), 0.1)
    with pytest.raises(NotImplementedError):
        Prior().value(randn(1, 2))
