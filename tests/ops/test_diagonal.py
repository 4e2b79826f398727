"""`Diagonal` and `Identity`: elementwise operators."""

from __future__ import annotations

import pytest
import torch

from unrolled.ops import Diagonal, Identity

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]
ids = lambda d: str(d).removeprefix("torch.")  # noqa: E731


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
def test_diagonal_matches_elementwise_product(dtype: torch.dtype, batched: bool) -> None:
    d = randn(*((2,) if batched else ()), 3, 4, dtype=dtype)
    x, rho = randn(2, 3, 4, dtype=dtype, seed=1), 0.7
    A = Diagonal(d, batched=batched)
    assert A.in_shape == A.out_shape == (3, 4)
    assert A.batch_size == (2 if batched else None)
    torch.testing.assert_close(A(x), d * x)
    torch.testing.assert_close(A.H(x), d.conj() * x)
    torch.testing.assert_close(A.gram(x), A.H(A(x)))
    torch.testing.assert_close(A.solve_gram(x, rho), x / (d.abs() ** 2 + rho))
    assert A.lipschitz() == pytest.approx(float(d.abs().max()) ** 2, rel=1e-6)


def test_diagonal_solve_gram_tensor_rho_gets_gradient() -> None:
    d, b = randn(5, dtype=torch.complex128), randn(3, 5, dtype=torch.complex128, seed=1)
    rho = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    x = Diagonal(d).solve_gram(b, rho)
    (grad,) = torch.autograd.grad(x.abs().square().sum(), rho)
    expected = (-2 * b.abs().square() / (d.abs().square() + 0.4) ** 3).sum()
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize(
    ("d", "batched", "error", "message"),
    [
        ([1.0, 2.0], False, TypeError, r"d: expected a torch\.Tensor, got list"),
        (torch.ones(3, dtype=torch.int32), False, TypeError, r"d: expected a floating .*int32"),
        (torch.tensor(1.0), False, ValueError, r"d: expected at least 1 dimensions .*got \(\)"),
        (torch.ones(3), True, ValueError, r"d: expected at least 2 .*\(B, \*shape\).*got \(3,\)"),
    ],
    ids=["not-a-tensor", "integer", "0-dim", "batched-1-dim"],
)
def test_diagonal_constructor_errors(d, batched, error, message) -> None:
    with pytest.raises(error, match=message):
        Diagonal(d, batched=batched)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (randn(3, 4), ValueError, r"x must have shape \(2, 4\), got \(3, 4\)"),
        (randn(2, 5), ValueError, r"x must have shape \(2, 4\), got \(2, 5\)"),
        (randn(2, 4, dtype=torch.complex128), TypeError, r"x is complex .* operator is real"),
    ],
    ids=["batch-size", "shape", "complex-into-real"],
)
def test_diagonal_call_errors(x, error, message) -> None:
    A = Diagonal(randn(2, 4), batched=True)
    with pytest.raises(error, match=message):
        A(x)
    with pytest.raises(error, match=message):
        A.gram(x)


def test_diagonal_to_keeps_complex() -> None:
    A = Diagonal(randn(4, dtype=torch.complex64)).to(torch.float64)
    assert A.dtype == torch.complex128
    assert A(randn(2, 4, dtype=torch.complex128)).dtype == torch.complex128


@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
def test_identity(dtype: torch.dtype) -> None:
    x = randn(2, 3, dtype=dtype)
    A = Identity((3,), dtype=dtype)
    assert A(x) is x and A.H(x) is x and A.gram(x) is x
    torch.testing.assert_close(A.solve_gram(x, 0.25), x / 1.25)
    assert A.lipschitz() == 1.0
    assert Identity()(randn(2, 5, 6)).shape == (2, 5, 6)  # no shape: any shape


def test_identity_errors() -> None:
    with pytest.raises(ValueError, match=r"shape: expected positive ints, got \(3, 0\)"):
        Identity((3, 0))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3\), got \(2, 4\)"):
        Identity((3,))(randn(2, 4))
    with pytest.raises(TypeError, match=r"x must have dtype torch\.float32, got torch\.float64"):
        Identity((3,), dtype=torch.float32)(randn(2, 3))


def test_identity_to_moves_its_declared_dtype() -> None:
    A = Identity((3,), dtype=torch.float32).to(torch.float64)
    assert A.dtype == torch.float64
    x = randn(2, 3)
    assert A(x) is x
    assert Identity((3,), dtype=torch.complex64).to(torch.float64).dtype == torch.complex128
