"""`LinearOperator`'s generic machinery, on a user operator that defines only forward/adjoint:
power-iteration `lipschitz`, conjugate-gradient `solve_gram`, the algebra, `.to`."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from unrolled.ops import (
    Adjoint,
    Composition,
    Diagonal,
    LinearOperator,
    Matrix,
    Scaled,
    Sum,
    conjugate_gradient,
)

ids = lambda d: str(d).removeprefix("torch.")  # noqa: E731


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


class Dense(LinearOperator):
    """A user's operator: only forward and adjoint, plus the declared shapes; counts its calls."""

    def __init__(self, W: Tensor) -> None:
        self.W, self.calls = W, 0
        self.in_shape, self.out_shape = (W.shape[-1],), (W.shape[-2],)
        self.batch_size = W.shape[0] if W.ndim == 3 else None
        self.dtype, self.device = W.dtype, W.device

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        return torch.einsum("bmn,bn->bm" if self.batch_size else "mn,bn->bm", self.W, x)

    def adjoint(self, y: Tensor) -> Tensor:
        return torch.einsum("bmn,bm->bn" if self.batch_size else "mn,bm->bn", self.W.conj(), y)


def norm2(W: Tensor) -> float:
    """‖W‖², the largest over a stack."""
    return float(torch.linalg.matrix_norm(W, ord=2).max()) ** 2


def explicit_solve(W: Tensor, b: Tensor, rho) -> Tensor:
    W = W.expand(b.shape[0], *W.shape[-2:])
    G = W.mH @ W + rho * torch.eye(W.shape[-1], dtype=W.dtype)
    return torch.linalg.solve(G, b.unsqueeze(-1)).squeeze(-1)


# -- lipschitz ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (3, 6, 4)], ids=["tall", "wide", "batched"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex128], ids=ids)
def test_power_iteration_matches_exact_norm(shape, dtype) -> None:
    W = randn(*shape, dtype=dtype)
    assert Dense(W).lipschitz() == pytest.approx(norm2(W), rel=1e-4)


def test_power_iteration_with_a_zero_sample_in_the_batch() -> None:
    W = randn(3, 5, 4)
    W[1] = 0
    assert Dense(W).lipschitz() == pytest.approx(norm2(W), rel=1e-4)
    assert Dense(torch.zeros(2, 3, 4, dtype=torch.float64)).lipschitz() == 0.0


def test_lipschitz_is_cached() -> None:
    A = Dense(randn(6, 4))
    first = A.lipschitz()
    assert A.calls > 0
    A.calls = 0
    assert A.lipschitz() == first
    assert A.calls == 0


def test_lipschitz_of_combinations() -> None:
    W1, W2 = randn(5, 4), randn(4, 6, seed=1)
    A, B = Matrix(W1), Matrix(W2)
    assert (A @ B).lipschitz() == pytest.approx(norm2(W1 @ W2), rel=1e-4)
    assert (A + A).lipschitz() == pytest.approx(4 * norm2(W1), rel=1e-4)
    assert (A - Matrix(2 * W1)).lipschitz() == pytest.approx(norm2(W1), rel=1e-4)
    assert (3j * Matrix(W1.to(torch.complex128))).lipschitz() == pytest.approx(9 * norm2(W1))
    assert A.H.lipschitz() == pytest.approx(norm2(W1))


def test_lipschitz_needs_in_shape() -> None:
    class Shapeless(LinearOperator):
        def forward(self, x: Tensor) -> Tensor:
            return 2 * x

        adjoint = forward

    with pytest.raises(ValueError, match="no in_shape"):
        Shapeless().lipschitz()


# -- solve_gram by conjugate gradient -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (3, 6, 4)], ids=["tall", "wide", "batched"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=ids)
def test_cg_solve_gram_matches_direct_solve(shape, dtype) -> None:
    W, b = randn(*shape, dtype=dtype), randn(3, shape[-1], dtype=dtype, seed=1)
    rho = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    x = Dense(W).solve_gram(b, rho)
    expected = explicit_solve(W, b, rho)
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-10)
    (grad,) = torch.autograd.grad(x.abs().square().sum(), rho)
    (expected_grad,) = torch.autograd.grad(expected.abs().square().sum(), rho)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-6, atol=1e-10)


def test_cg_solve_gram_of_scaled_and_adjoint() -> None:
    W, rho = randn(4, 6), 0.5
    A = Dense(W)
    torch.testing.assert_close(
        (2 * A).solve_gram(randn(2, 6), rho), explicit_solve(2 * W, randn(2, 6), rho)
    )
    torch.testing.assert_close(
        A.H.solve_gram(randn(2, 4), rho), explicit_solve(W.mT, randn(2, 4), rho)
    )


def test_conjugate_gradient_zero_right_hand_side() -> None:
    """Exactly zero b (one sample of two): zero solution, no NaN forward or backward."""
    W = randn(5, 5)
    G = W.mT @ W + torch.eye(5, dtype=W.dtype)
    b = torch.stack([torch.zeros(5, dtype=W.dtype), randn(5, seed=1)]).requires_grad_()
    rho = torch.tensor(0.0, dtype=W.dtype, requires_grad=True)

    x = conjugate_gradient(lambda v: v @ G.mT + rho * v, b, iterations=20)

    assert torch.all(x[0] == 0)
    torch.testing.assert_close(x[1], torch.linalg.solve(G, b[1].detach()))
    x.sum().backward()
    assert torch.isfinite(b.grad).all() and torch.isfinite(rho.grad).all()
    only_zero = conjugate_gradient(lambda v: v @ G.mT, torch.zeros(3, 5, dtype=W.dtype), 10)
    assert torch.all(only_zero == 0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=ids)
def test_conjugate_gradient_from_a_start(dtype) -> None:
    W = randn(6, 6, dtype=dtype)
    G = W.mH @ W + torch.eye(6, dtype=dtype)
    b, x0 = randn(2, 6, dtype=dtype, seed=1), randn(2, 6, dtype=dtype, seed=2)
    x = conjugate_gradient(lambda v: v @ G.mT, b, iterations=30, x0=x0)
    torch.testing.assert_close(x, torch.linalg.solve(G, b.unsqueeze(-1)).squeeze(-1))


# -- algebra --------------------------------------------------------------------------------------


def test_algebra_matches_explicit_matrices() -> None:
    W1, W2, x = randn(3, 4), randn(3, 4, seed=1), randn(2, 4, seed=2)
    A, B = Matrix(W1), Dense(W2)
    cases = [
        (A @ Matrix(randn(4, 4, seed=3)), W1 @ randn(4, 4, seed=3)),
        (A + B, W1 + W2),
        (A - B, W1 - W2),
        (-A, -W1),
        (2.5 * A, 2.5 * W1),
        (A * 2.5, 2.5 * W1),
    ]
    for op, W in cases:
        torch.testing.assert_close(op(x), x @ W.mT, msg=repr(op))
        torch.testing.assert_close(op.H(randn(2, 3)), randn(2, 3) @ W, msg=repr(op))
    assert isinstance(A @ A.H, Composition) and isinstance(A + B, Sum)
    assert isinstance(-A, Scaled) and isinstance(A.H, Adjoint)
    assert A.H.H is A
    torch.testing.assert_close(A @ x, A(x))


def test_complex_scaling_conjugates_in_the_adjoint() -> None:
    W, y = randn(3, 4, dtype=torch.complex128), randn(2, 3, dtype=torch.complex128)
    torch.testing.assert_close(((1 + 2j) * Matrix(W)).H(y), (1 - 2j) * Matrix(W).H(y))


def test_combinations_carry_batch_size_dtype_and_shapes() -> None:
    A = Matrix(randn(2, 3, 4))
    C = Diagonal(randn(3)) @ A
    assert (C.in_shape, C.out_shape, C.batch_size, C.dtype) == ((4,), (3,), 2, torch.float64)
    with pytest.raises(ValueError, match=r"x must have shape \(2, 4\), got \(5, 4\)"):
        C(randn(5, 4))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Matrix(randn(3, 4)) @ Matrix(randn(5, 6)),
            r"A's in_shape \(4,\) must equal B's out_shape \(5,\)",
        ),
        (
            lambda: Matrix(randn(3, 4)) + Matrix(randn(4, 3)),
            r"in_shape must match, got \(4,\) and \(3,\)",
        ),
        (
            lambda: Matrix(randn(3, 4)) - Matrix(randn(2, 4)),
            r"out_shape must match, got \(3,\) and \(2,\)",
        ),
    ],
    ids=["compose", "add", "subtract"],
)
def test_shape_mismatch_errors(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make",
    [lambda A: A * "2", lambda A: A * True, lambda A: A + 1, lambda A: A @ 3, lambda A: A - 1.0],
    ids=["times-str", "times-bool", "plus-number", "matmul-number", "minus-number"],
)
def test_algebra_rejects_non_operators(make) -> None:
    with pytest.raises(TypeError):
        make(Matrix(randn(3, 4)))


def test_undefined_forward_and_adjoint() -> None:
    class Empty(LinearOperator):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(randn(2, 3))
    with pytest.raises(NotImplementedError, match="Empty must define adjoint"):
        Empty().H(randn(2, 3))


def test_to_converts_a_user_operator_and_its_declared_dtype() -> None:
    A = Dense(randn(3, 4, dtype=torch.float32))
    C = (A @ Diagonal(randn(4, dtype=torch.float32))).to(torch.float64)
    B = A.to(torch.float64)
    assert B.W.dtype == torch.float64 and B.dtype == torch.float64
    assert A.W.dtype == torch.float32 and A.dtype == torch.float32
    assert B(randn(2, 4)).dtype == torch.float64
    assert C.dtype == torch.float64 and C(randn(2, 4)).dtype == torch.float64
    assert A.to(torch.complex64).dtype == torch.complex64


def test_complex_scalar_needs_a_complex_operator() -> None:
    with pytest.raises(TypeError, match="c: a complex scalar"):
        (1 + 2j) * Matrix(torch.randn(3, 4))


def test_complex_scalar_with_zero_imaginary_part_keeps_a_real_operator_real() -> None:
    A = complex(2, 0) * Matrix(torch.randn(3, 4))
    assert not A(torch.randn(2, 4)).is_complex()


def test_composition_and_sum_refuse_mismatched_dtypes() -> None:
    A32, A64 = Matrix(torch.randn(3, 3)), Matrix(torch.randn(3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"A @ B: dtype must match"):
        A32 @ A64
    with pytest.raises(TypeError, match=r"A \+ B: dtype must match"):
        A32 + A64
    with pytest.raises(ValueError, match="batch_size must match"):
        Matrix(torch.randn(2, 3, 3)) @ Matrix(torch.randn(4, 3, 3))
