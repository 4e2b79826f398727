"""Invariant 2 over the registry: every registered operator passes the adjoint test, real and
complex where it applies, over random shapes, with one operator for all samples and one per
sample; ``solve_gram`` (closed forms included) inverts ``AᴴA + ρI``; ``lipschitz`` is ‖A‖²."""

from __future__ import annotations

import math

import pytest
import torch

import unrolled as ur
from unrolled.ops import (
    MRI,
    SENSE,
    BlockCS,
    Blur,
    Diagonal,
    Downsample,
    GaussianCS,
    Gradient,
    Identity,
    Inpainting,
    Matrix,
    StructuredCS,
    Wavelet,
    check_adjoint,
    coil_maps,
    conjugate_gradient,
    masks,
)

REAL, COMPLEX = torch.float64, torch.complex128


def _image(g: torch.Generator, channels: bool, sizes=(4, 6, 8, 12)) -> tuple[int, ...]:
    pick = lambda: sizes[int(torch.randint(len(sizes), (), generator=g))]  # noqa: E731
    hw = (pick(), pick())
    return (int(torch.randint(1, 4, (), generator=g)), *hw) if channels else hw


def _kernel(g, batch, dtype):
    k = torch.rand((batch, 3, 3) if batch else (3, 3), generator=g, dtype=torch.float64)
    return k.to(dtype)


# name -> builder(generator, dtype, batch or None, channels) -> operator, or None where the
# combination does not exist (a real-only transform asked for complex data, say).
def _matrix(g, dt, batch, ch):
    shape = (batch, 5, 7) if batch else (5, 7)
    return Matrix(torch.randn(shape, generator=g, dtype=dt))


def _diagonal(g, dt, batch, ch):
    shape = (batch, 3, 4) if batch else (3, 4)
    return Diagonal(torch.randn(shape, generator=g, dtype=dt), batched=batch is not None)


def _gaussian_cs(g, dt, batch, ch):
    if dt.is_complex:
        return None
    shape = _image(g, ch)
    if batch:  # one matrix per sample
        n = math.prod(shape)
        return GaussianCS(shape, torch.randn(batch, n // 3 + 1, n, generator=g, dtype=dt))
    return GaussianCS(shape, ratio=0.3, generator=g, dtype=dt)


def _block_cs(g, dt, batch, ch):
    if batch or dt.is_complex:
        return None
    shape = (2, 8, 12) if ch else (8, 4)
    return BlockCS(shape, block=4, ratio=0.4, generator=g, dtype=dt)


def _structured_cs(g, dt, batch, ch):
    if batch:
        return None
    return StructuredCS(
        _image(g, ch), 0.35, "fft" if dt.is_complex else "dct", generator=g, dtype=dt
    )


def _blur(g, dt, batch, ch):
    return Blur(_kernel(g, batch, REAL), _image(g, ch), dtype=dt)


def _downsample(g, dt, batch, ch):
    shape = (2, 8, 12) if ch else (12, 8)
    return Downsample(_kernel(g, batch, REAL), 2, shape, dtype=dt)


def _inpainting(g, dt, batch, ch):
    shape = _image(g, ch)
    size = (batch, *shape[-2:]) if batch else shape[-2:]
    return Inpainting(torch.rand(size, generator=g) < 0.5, shape, dtype=dt)


def _mri(g, dt, batch, ch):
    if not dt.is_complex:
        return None
    return MRI(masks.random_lines((8, 12), 3, 0.1, generator=g, batch=batch), dtype=dt)


def _sense(g, dt, batch, ch):
    if not dt.is_complex:
        return None
    maps = coil_maps(4, (8, 6), dtype=dt)
    if batch:
        maps = maps * torch.randn(batch, 4, 1, 1, generator=g, dtype=dt)
    return SENSE(masks.random_lines((8, 6), 2, 0.2, generator=g), maps)


def _radon(g, dt, batch, ch):
    if batch or dt.is_complex:
        return None
    angles = int(torch.randint(1, 9, (), generator=g))
    return ur.ops.Radon(_image(g, ch), angles, dtype=dt)


BUILDERS = {
    "matrix": _matrix,
    "channel": lambda g, dt, batch, ch: (  # always one channel per sample
        None
        if ch
        else ur.comms.Channel(torch.randn((batch or 2, 5, 3), generator=g, dtype=dt), 0.1)
    ),
    "diagonal": _diagonal,
    "identity": lambda g, dt, batch, ch: None if batch else Identity(_image(g, ch), dtype=dt),
    "gaussian-cs": _gaussian_cs,
    "block-cs": _block_cs,
    "structured-cs": _structured_cs,
    "blur": _blur,
    "downsample": _downsample,
    "inpainting": _inpainting,
    "mri": _mri,
    "sense": _sense,
    "radon": _radon,
    "gradient": lambda g, dt, batch, ch: None if batch else Gradient(_image(g, ch), dtype=dt),
    "wavelet": lambda g, dt, batch, ch: (
        None
        if batch
        else Wavelet((2, 8, 16) if ch else (16, 8), "haar" if ch else "db2", 2, dtype=dt)
    ),
}
OPERATORS = ur.list_models("operator")
# the combinations that exist (a real-only transform has no complex variant, say)
CASES = [
    (name, dt, batch, ch)
    for name in OPERATORS
    for dt in (REAL, COMPLEX)
    for batch in (None, 3)
    for ch in (False, True)
    if name in BUILDERS
    and BUILDERS[name](torch.Generator().manual_seed(0), dt, batch, ch) is not None
]


def _build(name, dt, batch, ch, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = BUILDERS[name](g, dt, batch, ch)
    x = torch.randn((A.batch_size or batch or 2, *A.in_shape), generator=g, dtype=dt)
    return A, x, g


def test_every_registered_operator_has_a_builder():
    assert set(OPERATORS) == set(BUILDERS)


@pytest.mark.parametrize(("name", "dt", "batch", "ch"), CASES)
def test_adjoint(name, dt, batch, ch):
    for seed in range(3):  # several random shapes and data
        A, x, g = _build(name, dt, batch, ch, seed)
        check_adjoint(A, x, generator=g)
        assert A(x).shape == (x.shape[0], *A.out_shape)


@pytest.mark.parametrize(("name", "dt", "batch", "ch"), CASES)
def test_solve_gram_inverts_the_normal_operator(name, dt, batch, ch):
    A, x, _ = _build(name, dt, batch, ch)
    rho = 0.3
    b = A.gram(x) + rho * x
    expected = conjugate_gradient(lambda v: A.gram(v) + rho * v, b, 400)
    torch.testing.assert_close(A.solve_gram(b, rho), expected, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(A.solve_gram(b, rho), x, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "dt", "batch", "ch"), CASES)
def test_normal_residual_is_the_gradient_of_the_data_term(name, dt, batch, ch):
    """``normal_residual(x, Aᴴy)`` is ``AᴴA x − Aᴴy`` (Matrix fuses it into one product), and
    differentiates as that."""
    A, x, g = _build(name, dt, batch, ch)
    y = torch.randn((x.shape[0], *A.out_shape), generator=g, dtype=A(x).dtype)
    x = x.clone().requires_grad_()
    Aty = A.H(y)
    got, expected = A.normal_residual(x, Aty), A.adjoint(A(x)) - Aty
    torch.testing.assert_close(got, expected)
    weights = torch.randn(got.shape, generator=g, dtype=got.dtype)
    grads = [torch.autograd.grad((weights.conj() * r).real.sum(), x)[0] for r in (got, expected)]
    torch.testing.assert_close(*grads)


@pytest.mark.parametrize(("name", "dt", "batch", "ch"), CASES)
def test_lipschitz_is_the_squared_norm(name, dt, batch, ch):
    A, _x, _ = _build(name, dt, batch, ch)
    L = A.lipschitz()
    # power iteration on the generic path (no closed form): the reference
    reference = ur.ops.LinearOperator._power_iteration(A, 3000, 1e-12)
    if name == "gradient":  # a bound, not the norm
        assert reference <= L <= 8.0
    else:
        assert L == pytest.approx(reference, rel=1e-4)


@pytest.mark.parametrize("name", OPERATORS)
def test_wrong_adjoint_is_caught(name):
    A, x, g = _build(name, REAL if name not in ("mri", "sense") else COMPLEX, None, False)
    adjoint = type(A).adjoint
    broken = type("Broken", (type(A),), {"adjoint": lambda self, y: 1.5 * adjoint(self, y)})
    A.__class__ = broken
    with pytest.raises(ur.ops.AdjointMismatchError):
        check_adjoint(A, x, generator=g)


@pytest.mark.parametrize("name", OPERATORS)
def test_to_moves_dtype_and_keeps_the_map(name):
    """``A.to(dtype)`` gives the same operator in the new precision, real masks, filters and
    signs staying real; a real operator moved to complex acts on complex signals."""
    A, x, g = _build(name, REAL if name not in ("mri", "sense") else COMPLEX, None, False)
    low = A.to(torch.complex64 if A.dtype.is_complex else torch.float32)
    torch.testing.assert_close(low(x.to(low.dtype)), A(x).to(low.dtype), rtol=1e-4, atol=1e-5)
    assert low.lipschitz() == pytest.approx(A.lipschitz(), rel=1e-3)
    if not A.dtype.is_complex and name not in ("gaussian-cs", "block-cs", "structured-cs"):
        Z = A.to(torch.complex128)
        z = torch.complex(x, torch.randn(x.shape, generator=g, dtype=REAL))
        torch.testing.assert_close(Z(z), torch.complex(A(x), A(z.imag)))
        check_adjoint(Z, z, generator=g)


@pytest.mark.parametrize(
    "A",
    [
        Blur(torch.ones(3, 3, dtype=REAL) / 9, (8, 8)),
        MRI(torch.ones(8, 8, dtype=torch.bool), dtype=COMPLEX),
        Downsample(torch.ones(1, 1, dtype=REAL), 2, (8, 8)),
        StructuredCS((8, 8), 0.5, dtype=REAL),
    ],
    ids=repr,
)
def test_closed_form_solves_refuse_per_pixel_penalties(A):
    b = torch.randn(2, *A.in_shape, dtype=A.dtype)
    with pytest.raises(ValueError, match=r"rho: .* one penalty per sample"):
        A.solve_gram(b, torch.rand(2, *A.in_shape, dtype=REAL) + 0.1)
    per_sample = torch.tensor([0.5, 2.0], dtype=REAL).view(2, 1, 1)
    torch.testing.assert_close(
        A.solve_gram(A.gram(b) + per_sample * b, per_sample), b, rtol=1e-6, atol=1e-8
    )
