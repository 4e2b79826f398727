"""Boundary checks shared by the core: each error names the argument, what was expected, what came."""

from __future__ import annotations

import numbers
from typing import Any

from torch import Tensor


def check_tensor(value: Any, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if value.ndim < 1:
        raise ValueError(f"{name}: expected a batched tensor (B, ...), got a 0-dim tensor")
    return value


def check_operator(value: Any, name: str) -> Any:
    """A forward model is anything callable with an adjoint ``.H`` (a `unrolled.ops.LinearOperator`)."""
    if not callable(value) or not hasattr(value, "H") or not hasattr(value, "lipschitz"):
        raise TypeError(
            f"{name}: expected a linear operator (a unrolled.ops.LinearOperator, e.g. "
            f"unrolled.ops.Matrix(M)), got {type(value).__name__}"
        )
    return value


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int ≥ 1; a bool, a float or anything smaller is refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)
