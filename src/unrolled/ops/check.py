"""`check_adjoint`: the dot-product test ⟨Ax, y⟩ = ⟨x, Aᴴy⟩."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import LinearOperator

#: Default tolerance on the relative mismatch, by real dtype.
TOLERANCE = {
    torch.float64: 1e-10,
    torch.float32: 1e-4,
    torch.float16: 1e-2,
    torch.bfloat16: 5e-2,
}


class AdjointMismatchError(AssertionError):
    """``A.adjoint`` is not the adjoint of ``A.forward``; ``.mismatch`` is the relative error."""

    def __init__(self, message: str, mismatch: float) -> None:
        super().__init__(message)
        self.mismatch = mismatch


def _wide(t: Tensor) -> Tensor:
    return t.to(torch.complex128 if t.is_complex() else torch.float64)


def _norm(t: Tensor) -> float:
    """‖t‖ in double precision, scaled by its largest entry first so that it neither overflows
    nor underflows (`torch.linalg.vector_norm` squares the entries as they are)."""
    t = _wide(t).abs()
    peak = t.max()
    return float(peak * torch.linalg.vector_norm(t / peak)) if peak > 0 else 0.0


def _inner(a: Tensor, b: Tensor) -> complex:
    """⟨a, b⟩ = Σ conj(a)·b, accumulated in double precision."""
    return complex((_wide(a).conj() * _wide(b)).sum())


@torch.no_grad()
def check_adjoint(
    A: LinearOperator,
    x: Tensor,
    *,
    tol: float | None = None,
    generator: torch.Generator | None = None,
) -> float:
    """Relative mismatch of ⟨Ax, y⟩ and ⟨x, Aᴴy⟩ for a random ``y``; raise if above ``tol``.

    The mismatch is ``|⟨Ax, y⟩ − ⟨x, Aᴴy⟩| / (‖Ax‖·‖y‖)``: zero for a true adjoint, of the
    order of the dtype's rounding error in practice, and of order one for a wrong adjoint.

    Args:
        A: the operator.
        x: a signal ``(B, *A.in_shape)`` (random entries make the test strongest).
        tol: the largest mismatch accepted (default by dtype, `TOLERANCE`).
        generator: random generator for ``y``.

    Returns:
        The mismatch.

    Raises:
        AdjointMismatchError: the mismatch exceeds ``tol``.
    """
    Ax = A(x)
    y = torch.randn(Ax.shape, dtype=Ax.dtype, device=Ax.device, generator=generator)
    Ahy = A.H(y)
    if Ahy.shape != x.shape:
        raise AdjointMismatchError(
            f"{A!r}: A.H(y) has shape {tuple(Ahy.shape)} but x has shape {tuple(x.shape)}",
            float("inf"),
        )
    lhs, rhs = _inner(Ax, y), _inner(x, Ahy)
    scale = _norm(Ax) * _norm(y)
    mismatch = abs(lhs - rhs) / max(scale, torch.finfo(torch.float64).tiny)
    real = x.dtype.to_real() if x.is_complex() else x.dtype
    limit = TOLERANCE.get(real, 1e-4) if tol is None else tol
    if not mismatch <= limit:
        raise AdjointMismatchError(
            f"{A!r}: adjoint mismatch {mismatch:.3e} > tolerance {limit:.1e}: "
            f"⟨Ax, y⟩ = {lhs:.6g}, ⟨x, Aᴴy⟩ = {rhs:.6g}",
            mismatch,
        )
    return mismatch
