"""`Matrix`: dense ``(m, n)`` or per-sample ``(B, m, n)`` operators."""

from __future__ import annotations

import pytest
import torch

from unrolled.ops import Matrix

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]
ids = lambda d: str(d).removeprefix("torch.")  # noqa: E731


def randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def explicit(M: torch.Tensor, B: int) -> torch.Tensor:
    """M as a (B, m, n) stack."""
    return M.expand(B, *M.shape[-2:]) if M.ndim == 2 else M


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
def test_forward_and_adjoint_are_matmuls(dtype: torch.dtype, batched: bool) -> None:
    M = randn(*((4,) if batched else ()), 3, 5, dtype=dtype)
    x, y = randn(4, 5, dtype=dtype, seed=1), randn(4, 3, dtype=dtype, seed=2)
    A, Ms = Matrix(M), explicit(M, 4)
    tol = {"rtol": 1e-5, "atol": 1e-5}
    torch.testing.assert_close(A(x), torch.einsum("bmn,bn->bm", Ms, x), **tol)
    torch.testing.assert_close(A.H(y), torch.einsum("bmn,bm->bn", Ms.conj(), y), **tol)
    torch.testing.assert_close(A.gram(x), A.H(A(x)))
    assert A.in_shape == (5,) and A.out_shape == (3,)
    assert A.batch_size == (4 if batched else None) and A.dtype == dtype


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
def test_lipschitz_is_largest_singular_value_squared(dtype, batched) -> None:
    M = randn(*((3,) if batched else ()), 4, 6, dtype=dtype)
    expected = float(torch.linalg.svdvals(M.to(torch.complex128)).max()) ** 2
    assert Matrix(M).lipschitz() == pytest.approx(expected, rel=1e-5)


def test_lipschitz_is_cached(monkeypatch) -> None:
    A = Matrix(randn(4, 6))
    first = A.lipschitz()

    def fail(*args, **kwargs):
        raise AssertionError("lipschitz() recomputed")

    monkeypatch.setattr(torch.linalg, "matrix_norm", fail)
    assert A.lipschitz() == first


# -- solve_gram -----------------------------------------------------------------------------------


def reference_solve(M: torch.Tensor, b: torch.Tensor, rho) -> torch.Tensor:
    Ms = explicit(M, b.shape[0])
    G = Ms.mH @ Ms + rho * torch.eye(M.shape[-1], dtype=M.dtype)
    return torch.linalg.solve(G, b.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("rho_kind", ["float", "tensor"])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("mn", [(3, 7), (7, 3), (5, 5)], ids=["wide", "tall", "square"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=ids)
def test_solve_gram_matches_direct_solve(dtype, mn, batched, rho_kind) -> None:
    m, n = mn
    M = randn(*((4,) if batched else ()), m, n, dtype=dtype)
    b = randn(4, n, dtype=dtype, seed=1)
    rho = 0.3 if rho_kind == "float" else torch.tensor(0.3, dtype=torch.float64, requires_grad=True)

    x = Matrix(M).solve_gram(b, rho)
    expected = reference_solve(M, b, rho)
    torch.testing.assert_close(x, expected, rtol=1e-9, atol=1e-9)

    if rho_kind == "tensor":  # the gradient flows to rho, and is the right one
        (grad,) = torch.autograd.grad(x.abs().square().sum(), rho)
        (expected_grad,) = torch.autograd.grad(expected.abs().square().sum(), rho)
        assert grad.abs() > 0
        torch.testing.assert_close(grad, expected_grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("mn", [(3, 7), (7, 3)], ids=["wide", "tall"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64], ids=ids)
def test_solve_gram_single_precision(dtype, mn) -> None:
    M, b = randn(*mn, dtype=dtype), randn(2, mn[1], dtype=dtype, seed=1)
    expected = reference_solve(M.to(torch.complex128), b.to(torch.complex128), 0.5)
    x = Matrix(M).solve_gram(b, 0.5)
    assert x.dtype == dtype
    torch.testing.assert_close(x.to(torch.complex128), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mn", [(3, 7), (7, 3)], ids=["wide", "tall"])
def test_solve_gram_gradient_reaches_learned_matrix_after_no_grad_call(mn) -> None:
    """A validation pass under no_grad must not leave a graph-less cache behind."""
    M = randn(*mn).requires_grad_()
    A, b = Matrix(M), randn(2, mn[1], seed=1)
    with torch.no_grad():
        A.solve_gram(b, 0.5)
    A.solve_gram(b, 0.5).square().sum().backward()
    expected = M.detach().requires_grad_()
    reference_solve(expected, b, 0.5).square().sum().backward()
    torch.testing.assert_close(M.grad, expected.grad)


# -- dtype and device -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (torch.float32, torch.float64, torch.float64),
        (torch.complex64, torch.float64, torch.complex128),
        (torch.complex128, torch.float32, torch.complex64),
        (torch.complex64, torch.complex128, torch.complex128),
    ],
)
def test_to_converts_dtype_and_keeps_complex(source, target, expected) -> None:
    M = randn(3, 5, dtype=source)
    A = Matrix(M)
    A.solve_gram(randn(2, 5, dtype=source), 0.5)  # fills the Gram cache in the old dtype
    B = A.to(target)
    assert B.dtype == expected and B.M.dtype == expected
    assert A.dtype == source  # a copy: the original is unchanged
    torch.testing.assert_close(B.M, M.to(expected), rtol=1e-6, atol=1e-6)
    assert B.solve_gram(randn(2, 5, dtype=expected), 0.5).dtype == expected
    assert B.to("cpu").dtype == expected


# -- clear errors at the boundary -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("M", "error", "message"),
    [
        ([[1.0, 2.0]], TypeError, r"M: expected a torch\.Tensor, got list"),
        (torch.ones(3), ValueError, r"M: expected shape \(m, n\) or \(B, m, n\), got \(3,\)"),
        (torch.ones(2, 2, 2, 2), ValueError, r"M: expected shape .*, got \(2, 2, 2, 2\)"),
        (torch.ones(2, 3, dtype=torch.int64), TypeError, r"M: expected a floating .*torch\.int64"),
        (torch.ones(0, 3), ValueError, r"M: expected non-empty dimensions, got \(0, 3\)"),
    ],
    ids=["not-a-tensor", "ndim-1", "ndim-4", "integer", "empty"],
)
def test_constructor_errors(M, error, message) -> None:
    with pytest.raises(error, match=message):
        Matrix(M)


@pytest.mark.parametrize(
    ("M", "x", "error", "message"),
    [
        (randn(3, 4), randn(2, 5), ValueError, r"x must have shape \(B, 4\), got \(2, 5\)"),
        (randn(3, 4), randn(4), ValueError, r"x must have shape \(B, 4\), got \(4,\)"),
        (randn(2, 3, 4), randn(5, 4), ValueError, r"x must have shape \(2, 4\), got \(5, 4\)"),
        (
            randn(3, 4),
            randn(2, 4, dtype=torch.complex128),
            TypeError,
            r"x is complex \(torch\.complex128\) but the operator is real \(torch\.float64\)",
        ),
        (
            randn(3, 4, dtype=torch.float32),
            randn(2, 4),
            TypeError,
            r"x must have dtype torch\.float32, got torch\.float64",
        ),
        (randn(3, 4), [[0.0] * 4], TypeError, r"x must be a torch\.Tensor, got list"),
    ],
    ids=[
        "shape",
        "no-batch-dim",
        "batch-size",
        "complex-into-real",
        "float64-into-float32",
        "list",
    ],
)
def test_call_errors_name_argument_expected_and_got(M, x, error, message) -> None:
    with pytest.raises(error, match=message):
        Matrix(M)(x)


def test_adjoint_and_solve_gram_errors_name_their_argument() -> None:
    A = Matrix(randn(3, 4))
    with pytest.raises(ValueError, match=r"y must have shape \(B, 3\), got \(2, 4\)"):
        A.H(randn(2, 4))
    with pytest.raises(ValueError, match=r"b must have shape \(B, 4\), got \(2, 3\)"):
        A.solve_gram(randn(2, 3), 1.0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize(("m", "n"), [(30, 20), (20, 40), (10, 40)])
def test_gram_equals_two_products_with_or_without_the_cached_normal_matrix(dtype, m, n) -> None:
    g = torch.Generator().manual_seed(3)
    A = Matrix(torch.randn(m, n, dtype=dtype, generator=g))
    x = torch.randn(5, n, dtype=dtype, generator=g)
    torch.testing.assert_close(A.gram(x), A.adjoint(A.forward(x)))
    assert ("normal" in A._cache) == (n <= 2 * m)


def test_gram_of_a_learned_matrix_is_differentiable() -> None:
    M = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 6, dtype=torch.float64)
    Matrix(M).gram(x).sum().backward()
    assert M.grad is not None and M.grad.abs().sum() > 0


def test_solve_gram_caches_the_factor_for_a_fixed_penalty_and_refuses_a_vector_one() -> None:
    A = Matrix(torch.randn(6, 9, dtype=torch.float64))
    b = torch.randn(2, 9, dtype=torch.float64)
    first = A.solve_gram(b, 0.5)
    assert A._cache["cholesky"][0] == 0.5
    torch.testing.assert_close(A.solve_gram(b, 0.5), first)
    torch.testing.assert_close(
        A.solve_gram(b, 2.0),
        torch.linalg.solve(A.M.T @ A.M + 2 * torch.eye(9, dtype=torch.float64), b.T).T,
    )
    with pytest.raises(ValueError, match=r"rho: Matrix\.solve_gram needs one penalty"):
        A.solve_gram(b, torch.ones(9))


def test_non_finite_or_zero_matrices_say_so():
    import unrolled as ur
    from unrolled.algorithms import ISTA

    bad = torch.randn(3, 4)
    bad[0, 1] = torch.nan
    with pytest.raises(ValueError, match=r"A: Matrix\(3×4, float32\) holds NaN or Inf"):
        Matrix(bad).lipschitz()
    assert Matrix(torch.zeros(3, 4)).lipschitz() == 0.0  # the truth, but 1/L is undefined:
    with pytest.raises(ValueError, match=r"A: the default 1/L is not finite .* all zero"):
        ur.unroll(ISTA, 2, learn=["step"], operator=Matrix(torch.zeros(3, 4)))
