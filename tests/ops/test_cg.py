"""`cg_solve`: the gradients of the exact solve, with memory that does not grow with the steps."""

from __future__ import annotations

import torch

from unrolled.ops import Matrix, cg_solve, conjugate_gradient


def _system(dtype=torch.float64, n=6, batch=3):
    g = torch.Generator().manual_seed(0)
    A = Matrix(torch.randn(8, n, generator=g, dtype=dtype))
    b = torch.randn(batch, n, generator=g, dtype=dtype)
    return A, b


def _saved_bytes(fn) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``fn()``."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def test_cg_solve_solves_and_its_gradients_are_the_exact_ones():
    for dtype in (torch.float64, torch.complex128):
        A, b = _system(dtype)
        lam = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        b = b.requires_grad_()
        x = cg_solve(lambda v, A=A, lam=lam: A.gram(v) + lam * v, b, 30)
        exact = A.solve_gram(b, lam)
        torch.testing.assert_close(x, exact)
        w = torch.randn(x.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
        grads = torch.autograd.grad((w.conj() * x).real.sum(), (b, lam))
        reference = torch.autograd.grad((w.conj() * exact).real.sum(), (b, lam))
        for got, want in zip(grads, reference, strict=True):
            torch.testing.assert_close(got, want)


def test_cg_solve_gradcheck():
    A, b = _system()
    lam = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = b.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda bb, ll: cg_solve(lambda v: A.gram(v) + ll * v, bb, 40), (b, lam)
    )


def test_cg_solve_memory_is_constant_in_the_iterations():
    A, b = _system(n=50, batch=4)
    lam = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)

    def apply(v):
        return A.gram(v) + lam * v

    implicit = [_saved_bytes(lambda k=k: cg_solve(apply, b, k)) for k in (5, 50)]
    unrolled = [_saved_bytes(lambda k=k: conjugate_gradient(apply, b, k)) for k in (5, 50)]
    assert implicit[0] == implicit[1] > 0
    assert unrolled[1] > 5 * unrolled[0]


def test_cg_solve_without_grad_is_plain_cg():
    A, b = _system()
    with torch.no_grad():
        torch.testing.assert_close(cg_solve(A.gram, b, 20), conjugate_gradient(A.gram, b, 20))
