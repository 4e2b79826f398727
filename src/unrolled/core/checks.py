"""The library's validators, in one place: each error names the argument, what was expected and
what came. The core, the operators and the training settings (`unrolled.train.FitConfig`) check
their arguments with these."""

from __future__ import annotations

import math
import numbers
import os
import reprlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to a readable size, built without ever forming the whole (an error
    message must not echo a huge value, e.g. a YAML alias bomb: small in memory, exponential
    in print)."""
    shortener = reprlib.Repr()
    shortener.maxlevel, shortener.maxstring, shortener.maxother = 3, 80, 80
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 8
    return shortener.repr(value)


def device_memory(device: torch.device | str = "cpu") -> int | None:
    """The memory of ``device`` in bytes (a CUDA GPU's, or the machine's RAM for the CPU), or
    None where it cannot be read: what size checks compare an estimate with before
    allocating."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def check_tensor(value: Any, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if value.ndim < 1:
        raise ValueError(f"{name}: expected a batched tensor (B, ...), got a 0-dim tensor")
    return value


def check_finite(value: Tensor, name: str, *, allow_nan: bool = False) -> Tensor:
    """``value`` ``(B, ...)`` unless it holds NaN or Inf (only Inf with ``allow_nan``: a truth
    that marks unobserved entries NaN, as matrix completion does); the error names ``name``,
    how many of the B samples are affected and the first of them. Reads a flag on the host (a
    synchronisation): for the boundaries of `unrolled.train.fit` and a network's first call,
    not for a hot loop."""
    bad = torch.isinf(value) if allow_nan else ~torch.isfinite(value)
    if value.ndim == 0:
        bad = bad.reshape(1)
    per_sample = bad.reshape(bad.shape[0], -1).any(1)
    count = int(per_sample.sum())
    if count:
        what = "Inf" if allow_nan else "NaN or Inf"
        first = int(per_sample.nonzero()[0, 0])
        raise ValueError(
            f"{name}: expected finite values, got {what} in {count} of {len(per_sample)} "
            f"samples (the first: sample {first})"
        )
    return value


def check_operator(value: Any, name: str) -> Any:
    """A forward model is anything callable with an adjoint ``.H`` (a `unrolled.ops.LinearOperator`)."""
    if not callable(value) or not hasattr(value, "H") or not hasattr(value, "lipschitz"):
        raise TypeError(
            f"{name}: expected a linear operator (a unrolled.ops.LinearOperator, e.g. "
            f"unrolled.ops.Matrix(M)), got {type(value).__name__}"
        )
    return value


def is_real(value: Any) -> bool:
    """A finite real number (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def positive_number(value: Any, name: str, *, optional: bool = False) -> float | None:
    """``value`` as a float > 0, finite (or None, with ``optional``)."""
    if value is None and optional:
        return None
    if not (is_real(value) and value > 0):
        extra = " or None" if optional else ""
        raise ValueError(
            f"{name}: expected a positive finite number{extra}, got {short_repr(value)}"
        )
    return float(value)


def non_negative_number(value: Any, name: str) -> float:
    """``value`` as a float ≥ 0, finite (a weight that may be off)."""
    if not (is_real(value) and value >= 0):
        raise ValueError(f"{name}: expected a number >= 0, got {short_repr(value)}")
    return float(value)


def positive_int(value: Any, name: str, *, optional: bool = False) -> int | None:
    """``value`` as an int ≥ 1 (or None, with ``optional``); a bool, a float or anything
    smaller is refused."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        extra = " or None" if optional else ""
        raise ValueError(f"{name}: expected a positive int{extra}, got {short_repr(value)}")
    return int(value)


def non_negative_int(value: Any, name: str) -> int:
    """``value`` as an int ≥ 0 (a seed, a count of steps); a bool, a float or a negative int is
    refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {short_repr(value)}")
    return int(value)


def choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value``, one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {short_repr(value)}")
    return value


def number_sequence(value: Any, name: str, what: str) -> tuple[float, ...]:
    """``value``, a sequence of finite numbers (``what`` says which, for the message)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name}: expected a sequence of {what}, got {type(value).__name__}")
    out = []
    for v in value:
        if not is_real(v):
            raise ValueError(
                f"{name}: expected a sequence of {what}, got {short_repr(v)} in {short_repr(value)}"
            )
        out.append(float(v))
    return tuple(out)
