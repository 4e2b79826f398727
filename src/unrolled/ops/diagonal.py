"""`Identity` and `Diagonal`: elementwise operators."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from .base import LinearOperator, Shape


@register("identity", kind="operator")
class Identity(LinearOperator):
    """``y = x``.

    Args:
        shape: the shape of one signal (without batch); ``None`` accepts any shape.
        dtype: if given, inputs must have it.
    """

    def __init__(self, shape: Shape | None = None, dtype: torch.dtype | None = None) -> None:
        if shape is not None:
            shape = tuple(shape)
            if not all(isinstance(s, int) and s > 0 for s in shape):
                raise ValueError(f"shape: expected positive ints, got {shape!r}")
        self.in_shape = self.out_shape = shape
        self.dtype = dtype

    def forward(self, x: Tensor) -> Tensor:
        return x

    def adjoint(self, y: Tensor) -> Tensor:
        return y

    def gram(self, x: Tensor) -> Tensor:
        return x

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        return b / (1 + rho)

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return 1.0

    def __repr__(self) -> str:
        return f"Identity({self.in_shape})" if self.in_shape else "Identity()"


@register("diagonal", kind="operator")
class Diagonal(LinearOperator):
    """``y = d ⊙ x``, elementwise.

    Args:
        d: the diagonal, of the signal's shape ``(*shape)``, or ``(B, *shape)`` with
            ``batched=True`` (one diagonal per sample). Real or complex.
        batched: whether ``d``'s first dimension is the batch.
    """

    def __init__(self, d: Tensor, batched: bool = False) -> None:
        if not isinstance(d, Tensor):
            raise TypeError(f"d: expected a torch.Tensor, got {type(d).__name__}")
        if not (d.is_floating_point() or d.is_complex()):
            raise TypeError(f"d: expected a floating or complex dtype, got {d.dtype}")
        if d.ndim < (2 if batched else 1):
            raise ValueError(
                f"d: expected at least {2 if batched else 1} dimensions "
                f"({'(B, *shape)' if batched else '(*shape)'}), got {tuple(d.shape)}"
            )
        self.d = d
        self.batched = batched

    in_shape = property(lambda self: tuple(self.d.shape[1:] if self.batched else self.d.shape))  # type: ignore[assignment]
    out_shape = in_shape
    batch_size = property(lambda self: self.d.shape[0] if self.batched else None)  # type: ignore[assignment]
    dtype = property(lambda self: self.d.dtype)  # type: ignore[assignment]
    device = property(lambda self: self.d.device)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        return self.d * x

    def adjoint(self, y: Tensor) -> Tensor:
        return (self.d.conj() if self.d.is_complex() else self.d) * y

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return _abs2(self.d) * x

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        return b / (_abs2(self.d) + rho)

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        if self._lipschitz is None:
            self._lipschitz = float(self.d.abs().max()) ** 2
        return self._lipschitz

    def __repr__(self) -> str:
        kind = "batched, " if self.batched else ""
        return f"Diagonal({kind}{tuple(self.d.shape)}, {str(self.d.dtype).removeprefix('torch.')})"


def _abs2(d: Tensor) -> Tensor:
    return (d.conj() * d).real if d.is_complex() else d * d
