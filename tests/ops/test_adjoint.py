"""Invariant 2: every operator passes `check_adjoint`, real and complex, over random shapes;
and `check_adjoint` fails loudly on a wrong adjoint."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from unrolled.ops import (
    AdjointMismatchError,
    Diagonal,
    Identity,
    LinearOperator,
    Matrix,
    check_adjoint,
)
from unrolled.ops.check import TOLERANCE

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None)
dims = st.integers(1, 6)


class FiniteDifference(LinearOperator):
    """User operator: ``(Dx)_i = x_{i+1} − x_i`` along the last axis, ``(B, n) -> (B, n − 1)``."""

    def __init__(self, n: int, dtype: torch.dtype) -> None:
        self.in_shape, self.out_shape, self.dtype = (n,), (n - 1,), dtype

    def forward(self, x: Tensor) -> Tensor:
        return x[:, 1:] - x[:, :-1]

    def adjoint(self, y: Tensor) -> Tensor:
        return F.pad(y, (1, 0)) - F.pad(y, (0, 1))


class CumSum(LinearOperator):
    """User operator: cumulative sum along the last axis of ``(B, *shape)``; no shape declared."""

    def forward(self, x: Tensor) -> Tensor:
        return x.cumsum(-1)

    def adjoint(self, y: Tensor) -> Tensor:
        return y.flip(-1).cumsum(-1).flip(-1)


def _shape(draw) -> tuple[int, ...]:
    return tuple(draw(st.lists(dims, min_size=1, max_size=3)))


def _matrix(draw, g, dtype, m=None, n=None, batched=None) -> Matrix:
    m, n = m or draw(dims), n or draw(dims)
    batched = draw(st.booleans()) if batched is None else batched
    return Matrix(torch.randn((draw(dims), m, n) if batched else (m, n), generator=g, dtype=dtype))


def _diagonal(draw, g, dtype, shape=None, batched=False) -> Diagonal:
    shape = ((draw(dims),) if batched else ()) + (shape or _shape(draw))
    return Diagonal(torch.randn(shape, generator=g, dtype=dtype), batched=batched)


# Scalars from 1e-10 to 1e10 in size, and 0 (float32 has room for that).
reals = st.sampled_from([0.0]) | st.floats(1e-10, 1e10) | st.floats(-1e10, -1e-10)


def _scalar(draw, dtype) -> complex | float:
    re = draw(reals)
    return complex(re, draw(reals)) if dtype.is_complex and draw(st.booleans()) else re


def _composition(draw, g, dt):
    k = draw(dims)
    return _matrix(draw, g, dt, n=k, batched=False) @ _matrix(draw, g, dt, m=k)


def _diagonal_composition(draw, g, dt):
    A = _matrix(draw, g, dt)
    return _diagonal(draw, g, dt, shape=A.out_shape) @ A


def _sum(draw, g, dt):
    m, n = draw(dims), draw(dims)
    return _matrix(draw, g, dt, m, n, batched=False) + _matrix(draw, g, dt, m, n)


def _difference(draw, g, dt):
    m, n = draw(dims), draw(dims)
    return _matrix(draw, g, dt, m, n) - _matrix(draw, g, dt, m, n, batched=False)


def _user_after_matrix(draw, g, dt):
    n = draw(dims) + 1
    return FiniteDifference(n, dt) @ _matrix(draw, g, dt, m=n)


def _matrix_after_user(draw, g, dt):
    n = draw(dims) + 1
    return _matrix(draw, g, dt, n=n - 1) @ FiniteDifference(n, dt)


# Each builder draws an operator; the test then draws x to fit its in_shape and batch size.
BUILDERS = {
    "matrix": lambda draw, g, dt: _matrix(draw, g, dt, batched=False),
    "matrix_batched": lambda draw, g, dt: _matrix(draw, g, dt, batched=True),
    "diagonal": lambda draw, g, dt: _diagonal(draw, g, dt),
    "diagonal_batched": lambda draw, g, dt: _diagonal(draw, g, dt, batched=True),
    "identity": lambda draw, g, dt: Identity(_shape(draw), dtype=dt),
    "composition": _composition,
    "composition_diagonal": _diagonal_composition,
    "sum": _sum,
    "difference": _difference,
    "scaled": lambda draw, g, dt: _scalar(draw, dt) * _matrix(draw, g, dt),
    "scaled_right": lambda draw, g, dt: _diagonal(draw, g, dt) * _scalar(draw, dt),
    "negated": lambda draw, g, dt: -_matrix(draw, g, dt),
    "adjoint": lambda draw, g, dt: _matrix(draw, g, dt).H,
    "adjoint_adjoint": lambda draw, g, dt: _matrix(draw, g, dt).H.H,
    "adjoint_of_composition": lambda draw, g, dt: _user_after_matrix(draw, g, dt).H,
    "user": lambda draw, g, dt: FiniteDifference(draw(dims) + 1, dt),
    "user_after_matrix": _user_after_matrix,
    "matrix_after_user": _matrix_after_user,
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("kind", list(BUILDERS))
@PROPERTY
@given(data=st.data())
def test_every_operator_passes_check_adjoint(kind: str, dtype: torch.dtype, data) -> None:
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    A = BUILDERS[kind](data.draw, g, dtype)
    batch = A.batch_size or data.draw(dims, label="batch")
    x = torch.randn((batch, *A.in_shape), generator=g, dtype=dtype)

    mismatch = check_adjoint(A, x, generator=g)

    assert 0.0 <= mismatch <= TOLERANCE[dtype.to_real()]
    assert A(x).shape == (batch, *A.out_shape)
    assert A.H(A(x)).shape == x.shape


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@PROPERTY
@given(shape=st.lists(dims, min_size=1, max_size=3), batch=dims, seed=st.integers(0, 2**16))
def test_shapeless_user_operator_passes(dtype, shape, batch, seed) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *shape), generator=g, dtype=dtype)
    assert check_adjoint(CumSum(), x, generator=g) <= TOLERANCE[dtype.to_real()]
    assert check_adjoint(Identity(), x, generator=g) == 0.0


# -- check_adjoint must fail on wrong adjoints ---------------------------------------------------


class NoConjugate(Matrix):
    """Wrong for complex M: the adjoint forgets the conjugate (Mᵀ instead of Mᴴ)."""

    def adjoint(self, y: Tensor) -> Tensor:
        return y @ self.M


class NotTransposed(Matrix):
    """Wrong for any non-symmetric square M: ``M y`` instead of ``Mᵀ y``."""

    def adjoint(self, y: Tensor) -> Tensor:
        return y @ self.M.mT


class WrongShape(Matrix):
    def adjoint(self, y: Tensor) -> Tensor:
        return (y @ self.M)[:, :-1]


@pytest.mark.parametrize(
    ("cls", "dtype"),
    [
        (NoConjugate, torch.complex64),
        (NoConjugate, torch.complex128),
        (NotTransposed, torch.float32),
        (NotTransposed, torch.float64),
        (NotTransposed, torch.complex128),
    ],
)
def test_check_adjoint_raises_on_wrong_adjoint(cls, dtype) -> None:
    g = torch.Generator().manual_seed(0)
    A = cls(torch.randn(6, 6, generator=g, dtype=dtype))
    x = torch.randn(3, 6, generator=g, dtype=dtype)
    with pytest.raises(AdjointMismatchError) as info:
        check_adjoint(A, x, generator=g)
    err = info.value
    assert isinstance(err, AssertionError)
    assert err.mismatch > 1e-2
    assert f"{err.mismatch:.3e}" in str(err)
    assert "adjoint mismatch" in str(err)


def test_check_adjoint_raises_on_wrong_shape() -> None:
    A = WrongShape(torch.randn(4, 5, dtype=torch.float64))
    with pytest.raises(AdjointMismatchError, match=r"shape \(2, 4\) but x has shape \(2, 5\)"):
        check_adjoint(A, torch.randn(2, 5, dtype=torch.float64))


def test_check_adjoint_returns_small_float_and_respects_tol() -> None:
    g = torch.Generator().manual_seed(0)
    M = torch.randn(5, 7, generator=g, dtype=torch.float64)
    x = torch.randn(4, 7, generator=g, dtype=torch.float64)
    mismatch = check_adjoint(Matrix(M), x, generator=g)
    assert isinstance(mismatch, float)
    assert 0.0 <= mismatch < 1e-13

    class Slightly(Matrix):  # adjoint off by ~1e-6: caught at the float64 default, not at 1e-3
        def adjoint(self, y: Tensor) -> Tensor:
            return y @ (self.M + 1e-6 * torch.ones_like(self.M))

    with pytest.raises(AdjointMismatchError):
        check_adjoint(Slightly(M), x, generator=g)
    assert check_adjoint(Slightly(M), x, tol=1e-3, generator=g) < 1e-3


@pytest.mark.parametrize("scale", [1e-200, 1.0, 1e200])
def test_check_adjoint_does_not_depend_on_scale(scale: float) -> None:
    g = torch.Generator().manual_seed(0)
    M = torch.randn(6, 6, generator=g, dtype=torch.float64)
    x = torch.randn(3, 6, generator=g, dtype=torch.float64)
    assert check_adjoint(scale * Matrix(M), x, generator=g) < 1e-13
    with pytest.raises(AdjointMismatchError):
        check_adjoint(scale * NotTransposed(M), x, generator=g)
