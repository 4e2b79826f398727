"""`Matrix`: a dense matrix ``(m, n)``, or a stack ``(B, m, n)`` of one matrix per sample."""

from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from ..core import register
from .base import LinearOperator, checked_lipschitz


@register("matrix", kind="operator")
class Matrix(LinearOperator):
    """``y = M x`` for a dense matrix, real or complex.

    Args:
        M: ``(m, n)``, one matrix for every sample, or ``(B, m, n)``, one per sample (a MIMO
            channel per sample, say).

    Shapes: ``x`` is ``(B, n)``, ``y`` is ``(B, m)``.

    ``lipschitz()`` is exact (the largest singular value, squared; the largest over a stack) and
    ``solve_gram(b, ρ)`` solves ``(MᴴM + ρI) x = b`` by Cholesky, through the m×m system
    ``MMᴴ + ρI`` (Woodbury) when m < n.
    """

    def __init__(self, M: Tensor) -> None:
        if not isinstance(M, Tensor):
            raise TypeError(f"M: expected a torch.Tensor, got {type(M).__name__}")
        if M.ndim not in (2, 3):
            raise ValueError(f"M: expected shape (m, n) or (B, m, n), got {tuple(M.shape)}")
        if not (M.is_floating_point() or M.is_complex()):
            raise TypeError(f"M: expected a floating or complex dtype, got {M.dtype}")
        if M.shape[-1] == 0 or M.shape[-2] == 0:
            raise ValueError(f"M: expected non-empty dimensions, got {tuple(M.shape)}")
        self.M = M
        self._cache: dict[str, Any] = {}

    in_shape = property(lambda self: (self.M.shape[-1],))  # type: ignore[assignment]
    out_shape = property(lambda self: (self.M.shape[-2],))  # type: ignore[assignment]
    batch_size = property(lambda self: self.M.shape[0] if self.M.ndim == 3 else None)  # type: ignore[assignment]
    dtype = property(lambda self: self.M.dtype)  # type: ignore[assignment]
    device = property(lambda self: self.M.device)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        if self.M.ndim == 2:
            return x @ self.M.mT
        return (self.M @ x.unsqueeze(-1)).squeeze(-1)

    def adjoint(self, y: Tensor) -> Tensor:
        M = self.M.conj() if self.M.is_complex() else self.M
        if M.ndim == 2:
            return y @ M
        return (y.unsqueeze(-2) @ M).squeeze(-2)

    def gram(self, x: Tensor) -> Tensor:
        """``MᴴM x``: one product with the cached n×n matrix ``MᴴM`` where that costs no more
        flops than the two products ``Mᴴ(Mx)`` (n ≤ 2m) and ``M`` is a constant unbatched matrix;
        the two products otherwise."""
        G = self._normal(x)
        return self.adjoint(self(x)) if G is None else x @ G

    def normal_residual(self, x: Tensor, Aty: Tensor) -> Tensor:
        """``MᴴM x − Mᴴy`` as one BLAS call (``addmm``) where `gram` uses ``MᴴM``: one
        elementwise pass less forward and backward in every gradient step."""
        G = self._normal(x)
        if G is None or x.ndim != 2 or Aty.shape != x.shape:
            return self.gram(x) - Aty
        return torch.addmm(Aty, x, G, beta=-1)

    def _normal(self, x: Tensor) -> Tensor | None:
        """The cached ``(MᴴM)ᵀ`` (after checking ``x``), or None where the two products are as
        cheap or ``M`` is batched or learned."""
        M = self.M
        if M.ndim == 3 or M.requires_grad or M.shape[-1] > 2 * M.shape[-2]:
            return None
        self._check(x, "x", self.in_shape)
        G = self._cache.get("normal")
        if G is None:  # rows x give (MᴴM xᵀ)ᵀ = x (MᴴM)ᵀ; row-major, the layout BLAS reads fastest
            G = self._cache["normal"] = (M.mH @ M).mT.contiguous()
        return G

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        if self._lipschitz is None:
            if not bool(torch.isfinite(self.M).all()):  # the SVD would fail without saying why
                raise ValueError(f"A: {self!r} holds NaN or Inf values (M)")
            norm = float(torch.linalg.matrix_norm(self.M, ord=2).max()) ** 2
            self._lipschitz = checked_lipschitz(norm, self)
        return self._lipschitz

    def _small_gram(self) -> Tensor:
        """``MMᴴ`` (m < n) or ``MᴴM``, cached unless ``M`` requires grad (a learned ``M``
        changes between steps, and a copy cached under ``no_grad`` would carry no graph)."""
        G = self._cache.get("gram")
        if G is None:
            M, Mh = self.M, self.M.mH
            G = M @ Mh if M.shape[-2] < M.shape[-1] else Mh @ M
            if not M.requires_grad:
                self._cache["gram"] = G
        return G

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        """``(MᴴM + ρI)⁻¹ b`` by Cholesky; ``ρ`` a number or a one-element tensor.

        The factor is cached for a numeric ρ (a fixed penalty: ADMM's layers share it) when
        ``M`` is constant; a tensor ρ (learned) is factorised on each call, differentiably.
        """
        self._check(b, "b", self.in_shape)
        if isinstance(rho, Tensor) and rho.numel() != 1:
            raise ValueError(
                f"rho: Matrix.solve_gram needs one penalty (a number or a one-element tensor), "
                f"got shape {tuple(rho.shape)}"
            )
        cached = self._cache.get("cholesky")
        if isinstance(rho, numbers.Real) and cached is not None and cached[0] == rho:
            L = cached[1]
        else:
            G = self._small_gram()
            eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
            L = torch.linalg.cholesky(G + rho * eye)
            if isinstance(rho, numbers.Real) and not self.M.requires_grad:
                self._cache["cholesky"] = (rho, L)
        m, n = self.M.shape[-2:]
        if m < n:  # (MᴴM + ρI)⁻¹ = (I − Mᴴ(MMᴴ + ρI)⁻¹M)/ρ
            return (b - self.adjoint(_solve_rows(L, self.forward(b)))) / rho
        return _solve_rows(L, b)

    def _reset_cache(self) -> None:
        self._cache = {}

    def __repr__(self) -> str:
        shape = "×".join(map(str, self.M.shape))
        return f"Matrix({shape}, {str(self.M.dtype).removeprefix('torch.')})"


def _solve_rows(L: Tensor, v: Tensor) -> Tensor:
    """Solve ``(LLᴴ) u = v`` for row vectors ``v`` of shape ``(B, k)``; ``L`` is (k, k) or (B, k, k)."""
    if L.ndim == 2:
        return torch.cholesky_solve(v.mT, L).mT
    return torch.cholesky_solve(v.unsqueeze(-1), L).squeeze(-1)


def as_dense(A: Any) -> Tensor:
    """A vector operator ``A: ℝⁿ -> ℝᵐ`` (shared by all samples) as its ``(m, n)`` float64
    matrix: a `Matrix`'s own, or ``A`` applied to the identity. For rules and analyses that need
    the matrix itself (an eigendecomposition, LISTA's initial weights); callers check the
    shapes."""
    if isinstance(A, Matrix):
        return A.M.detach().to(torch.float64)
    n = int(A.in_shape[0])
    dtype = A.dtype or torch.get_default_dtype()
    return A(torch.eye(n, dtype=dtype, device=A.device)).mT.detach().to(torch.float64)
