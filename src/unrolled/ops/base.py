"""`LinearOperator`: the forward model ``A`` of an inverse problem ``y = A x + noise``.

A user's operator subclasses `LinearOperator` and defines ``forward(x)`` and ``adjoint(y)``;
everything else (``A.H``, ``A.gram``, ``A.lipschitz``, ``A.solve_gram``, composition ``A @ B``,
scaling ``c * A``, sums ``A + B``) comes from the base class. Setting ``in_shape``,
``out_shape``, ``dtype`` (and, for one operator per sample, ``batch_size``) turns on the
boundary checks.

Tensors are batch first: ``x`` is ``(B, *in_shape)``, ``y`` is ``(B, *out_shape)``.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .cg import conjugate_gradient

Shape = tuple[int, ...]


def _fmt(shape: Shape | None, batch: int | None) -> str:
    b = "B" if batch is None else str(batch)
    return "(" + ", ".join([b, *map(str, shape or ())]) + ")"


class LinearOperator:
    """A batched linear map ``A: x -> y``, real or complex.

    Attributes (class-level ``None`` means unknown, and the matching check is skipped):
        in_shape: shape of one signal ``x`` (without the batch dimension).
        out_shape: shape of one measurement ``y``.
        batch_size: for per-sample operators, the batch size B they hold; ``None`` for one
            operator applied to every sample.
        dtype: the operator's dtype; inputs must have it.
        device: the operator's device; inputs must be on it.
    """

    in_shape: Shape | None = None
    out_shape: Shape | None = None
    batch_size: int | None = None
    dtype: torch.dtype | None = None
    device: torch.device | None = None
    #: The measurement axis that ordered-subset methods (`unrolled.algorithms.OSEM`) split:
    #: the first of ``out_shape`` (the rows of a matrix) unless an operator says otherwise.
    subset_axis: int = 0
    _lipschitz: float | None = None
    _input_name = "x"  # what errors call the input of __call__ (the adjoint's is y)
    #: Held tensors that stay real whatever the operator's dtype (masks as weights, filters,
    #: signs): ``.to(complex)`` gives them the real counterpart of the new dtype.
    _real_tensors: tuple[str, ...] = ()

    # -- to define -----------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """``A x``: ``(B, *in_shape) -> (B, *out_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def adjoint(self, y: Tensor) -> Tensor:
        """``Aᴴ y``: ``(B, *out_shape) -> (B, *in_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} must define adjoint(y)")

    # -- derived -------------------------------------------------------------------------
    def __call__(self, x: Tensor) -> Tensor:
        self._check(x, self._input_name, self.in_shape)
        return self.forward(x)

    @property
    def H(self) -> LinearOperator:
        """The adjoint ``Aᴴ``, itself an operator (``A.H.H is A``)."""
        return Adjoint(self)

    def gram(self, x: Tensor) -> Tensor:
        """``AᴴA x``; subclasses override it where a structure makes it cheaper."""
        return self.adjoint(self(x))

    def normal_residual(self, x: Tensor, Aty: Tensor) -> Tensor:
        """``AᴴA x − Aᴴy``, the gradient of ``½‖Ax − y‖²`` given ``Aᴴy`` (both ``(B,
        *in_shape)``); subclasses fuse the subtraction into their product where they can."""
        return self.gram(x) - Aty

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        """``(AᴴA + ρI)⁻¹ b``, by ``iterations`` steps of conjugate gradient unless overridden."""
        self._check(b, "b", self.in_shape)
        return conjugate_gradient(lambda v: self.gram(v) + rho * v, b, iterations)

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        """``L = ‖A‖² = λ_max(AᴴA)``, the Lipschitz constant of ∇½‖Ax − y‖²; cached.

        Power iteration on ``AᴴA`` from a fixed-seed random start, until the estimate changes by
        less than ``tol`` (relative). For per-sample operators, the largest over the batch.
        """
        if self._lipschitz is None:
            self._lipschitz = checked_lipschitz(self._power_iteration(iterations, tol), self)
        return self._lipschitz

    @torch.no_grad()
    def _power_iteration(self, iterations: int, tol: float) -> float:
        if self.in_shape is None:
            raise ValueError(
                f"lipschitz: {self!r} has no in_shape, so power iteration cannot pick a start; "
                f"set in_shape (and batch_size for a per-sample operator)"
            )
        dtype = self.dtype or torch.get_default_dtype()
        g = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn((self.batch_size or 1, *self.in_shape), generator=g, dtype=dtype)
        x = x.to(self.device) if self.device is not None else x
        estimate = 0.0
        for _ in range(iterations):
            norm = torch.linalg.vector_norm(x.flatten(1), dim=1).view(-1, *[1] * (x.ndim - 1))
            x = x / norm.clamp_min(torch.finfo(norm.dtype).tiny)  # a zero sample stays zero
            x = self.gram(x)
            new = float(torch.linalg.vector_norm(x.flatten(1), dim=1).max())
            if abs(new - estimate) <= tol * new:
                return new
            estimate = new
        return estimate

    # -- algebra -------------------------------------------------------------------------
    def __matmul__(self, other: LinearOperator | Tensor) -> LinearOperator | Tensor:
        if isinstance(other, LinearOperator):
            return Composition(self, other)
        if isinstance(other, Tensor):
            return self(other)
        return NotImplemented

    def __mul__(self, c: numbers.Number) -> LinearOperator:
        if not isinstance(c, numbers.Number) or isinstance(c, bool):
            return NotImplemented
        return Scaled(self, c)

    __rmul__ = __mul__

    def __neg__(self) -> LinearOperator:
        return Scaled(self, -1.0)

    def __add__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, other)

    def __sub__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, Scaled(other, -1.0))

    # -- device and dtype ------------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor]) -> LinearOperator:
        """A copy with ``fn`` (a dtype/device conversion) applied to every tensor it holds.

        As in `nn.Module`, only floating tensors change dtype; complex ones go to the complex
        counterpart of the new dtype and integer or boolean ones (masks) only change device.
        """
        new = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                converted = _convert(fn, value)
                if name in self._real_tensors and converted.is_complex() and not value.is_complex():
                    converted = converted.real.contiguous()
                setattr(new, name, converted)
            elif isinstance(value, LinearOperator):
                setattr(new, name, value._apply(fn))
            elif isinstance(value, torch.dtype):  # a declared dtype follows the data
                setattr(new, name, _convert(fn, torch.empty(0, dtype=value)).dtype)
            elif isinstance(value, torch.device):
                setattr(new, name, fn(torch.empty(0, device=value)).device)
        new._reset_cache()
        return new

    def _reset_cache(self) -> None:
        """Drop tensors derived from the operator's data (the Lipschitz constant stays valid)."""

    def to(self, *args: object, **kwargs: object) -> LinearOperator:
        """A copy on another device and/or dtype, with `torch.Tensor.to`'s arguments."""
        return self._apply(lambda t: t.to(*args, **kwargs))

    # -- checks ----------------------------------------------------------------------------
    def _check(self, x: Tensor, name: str, shape: Shape | None) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: {name} must be a torch.Tensor, got {type(x).__name__}")
        if shape is not None and (
            x.ndim != len(shape) + 1
            or tuple(x.shape[1:]) != tuple(shape)
            or (self.batch_size is not None and x.shape[0] != self.batch_size)
        ):
            raise ValueError(
                f"{self!r}: {name} must have shape {_fmt(shape, self.batch_size)}, "
                f"got {tuple(x.shape)}"
            )
        dtype = self.dtype
        if dtype is not None and x.dtype != dtype and not _autocast_input(x):
            if x.is_complex() and not dtype.is_complex:
                raise TypeError(
                    f"{self!r}: {name} is complex ({x.dtype}) but the operator is real ({dtype}); "
                    f"build the operator from complex data to apply it to complex signals"
                )
            raise TypeError(f"{self!r}: {name} must have dtype {dtype}, got {x.dtype}")
        if self.device is not None and x.device != self.device:
            raise ValueError(f"{self!r}: {name} must be on {self.device}, got {x.device}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _autocast_input(x: Tensor) -> bool:
    """``x`` is what autocast made of a signal (bf16 or fp16 under `torch.autocast`): the
    operator takes it, its products run where autocast says (mixed precision training)."""
    low = x.dtype in (torch.bfloat16, torch.float16)
    return low and torch.is_autocast_enabled(x.device.type)


def _convert(fn: Callable[[Tensor], Tensor], t: Tensor) -> Tensor:
    if t.is_floating_point():
        return fn(t)
    real = t.dtype.to_real() if t.is_complex() else torch.get_default_dtype()
    probe = fn(torch.empty(0, dtype=real, device=t.device))
    dtype = t.dtype
    if t.is_complex() and probe.is_complex():
        dtype = probe.dtype
    elif t.is_complex() and probe.is_floating_point():
        dtype = probe.dtype.to_complex()
    return t.to(device=probe.device, dtype=dtype)


class Adjoint(LinearOperator):
    """``Aᴴ`` as an operator: forward and adjoint swapped."""

    _input_name = "y"

    def __init__(self, A: LinearOperator) -> None:
        self.A = A

    in_shape = property(lambda self: self.A.out_shape)  # type: ignore[assignment]
    out_shape = property(lambda self: self.A.in_shape)  # type: ignore[assignment]
    batch_size = property(lambda self: self.A.batch_size)  # type: ignore[assignment]
    dtype = property(lambda self: self.A.dtype)  # type: ignore[assignment]
    device = property(lambda self: self.A.device)  # type: ignore[assignment]

    def forward(self, y: Tensor) -> Tensor:
        return self.A.adjoint(y)

    def adjoint(self, x: Tensor) -> Tensor:
        return self.A.forward(x)

    @property
    def H(self) -> LinearOperator:
        return self.A

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return self.A.lipschitz(iterations, tol)  # ‖Aᴴ‖ = ‖A‖

    def __repr__(self) -> str:
        return f"{self.A!r}.H"


def checked_lipschitz(value: float, operator: Any) -> float:
    """``value`` as ``operator``'s ``‖A‖²``, unless it is NaN or Inf (say so here, rather than
    deep in a network's start)."""
    if not math.isfinite(value):
        raise ValueError(
            f"A: the operator's norm ‖A‖² is {value}: {operator!r} holds NaN or Inf values"
        )
    return value


class _Combination(LinearOperator):
    """Shared attributes of operators built from two others."""

    A: LinearOperator
    B: LinearOperator

    def _check_compatible(self, A: LinearOperator, B: LinearOperator, op: str) -> None:
        for attr in ("dtype", "device", "batch_size"):
            a, b = getattr(A, attr), getattr(B, attr)
            if a is not None and b is not None and a != b:
                raise (ValueError if attr == "batch_size" else TypeError)(
                    f"A {op} B: {attr} must match, got {a} and {b}"
                )

    @property
    def batch_size(self) -> int | None:  # type: ignore[override]
        return self.A.batch_size if self.A.batch_size is not None else self.B.batch_size

    @property
    def dtype(self) -> torch.dtype | None:  # type: ignore[override]
        return self.A.dtype or self.B.dtype

    @property
    def device(self) -> torch.device | None:  # type: ignore[override]
        return self.A.device or self.B.device


class Composition(_Combination):
    """``A @ B``: ``x -> A(B(x))``, adjoint ``Bᴴ(Aᴴ(y))``."""

    def __init__(self, A: LinearOperator, B: LinearOperator) -> None:
        if None not in (A.in_shape, B.out_shape) and tuple(A.in_shape) != tuple(B.out_shape):
            raise ValueError(
                f"A @ B: A's in_shape {A.in_shape} must equal B's out_shape {B.out_shape}"
            )
        self._check_compatible(A, B, "@")
        self.A, self.B = A, B

    in_shape = property(lambda self: self.B.in_shape)  # type: ignore[assignment]
    out_shape = property(lambda self: self.A.out_shape)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        return self.A.forward(self.B.forward(x))

    def adjoint(self, y: Tensor) -> Tensor:
        return self.B.adjoint(self.A.adjoint(y))

    def __repr__(self) -> str:
        return f"({self.A!r} @ {self.B!r})"


class Sum(_Combination):
    """``A + B``: ``x -> A(x) + B(x)``."""

    def __init__(self, A: LinearOperator, B: LinearOperator) -> None:
        for attr in ("in_shape", "out_shape"):
            a, b = getattr(A, attr), getattr(B, attr)
            if None not in (a, b) and tuple(a) != tuple(b):
                raise ValueError(f"A + B: {attr} must match, got {a} and {b}")
        self._check_compatible(A, B, "+")
        self.A, self.B = A, B

    in_shape = property(lambda self: self.A.in_shape or self.B.in_shape)  # type: ignore[assignment]
    out_shape = property(lambda self: self.A.out_shape or self.B.out_shape)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        return self.A.forward(x) + self.B.forward(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return self.A.adjoint(y) + self.B.adjoint(y)

    def __repr__(self) -> str:
        return f"({self.A!r} + {self.B!r})"


class Scaled(LinearOperator):
    """``c * A`` for a (real or complex) number ``c``; adjoint ``conj(c) Aᴴ``."""

    def __init__(self, A: LinearOperator, c: numbers.Number) -> None:
        if isinstance(c, complex) and c.imag == 0:
            c = c.real  # keeps a real operator real
        if (
            isinstance(c, complex)
            and c.imag != 0
            and A.dtype is not None
            and not A.dtype.is_complex
        ):
            raise TypeError(
                f"c: a complex scalar ({c}) needs a complex operator, got {A!r}; build the "
                f"operator from complex data"
            )
        self.A, self.c = A, c

    in_shape = property(lambda self: self.A.in_shape)  # type: ignore[assignment]
    out_shape = property(lambda self: self.A.out_shape)  # type: ignore[assignment]
    batch_size = property(lambda self: self.A.batch_size)  # type: ignore[assignment]
    dtype = property(lambda self: self.A.dtype)  # type: ignore[assignment]
    device = property(lambda self: self.A.device)  # type: ignore[assignment]
    subset_axis = property(lambda self: self.A.subset_axis)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        return self.c * self.A.forward(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return self.c.conjugate() * self.A.adjoint(y)

    def gram(self, x: Tensor) -> Tensor:
        return abs(self.c) ** 2 * self.A.gram(x)

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return abs(self.c) ** 2 * self.A.lipschitz(iterations, tol)

    def __repr__(self) -> str:
        return f"{self.c!r} * {self.A!r}"
