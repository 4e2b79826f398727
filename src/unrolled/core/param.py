"""`Param` and `Slot`: the named, typed knobs of an algorithm.

A `Param` is a hyperparameter (a step size, a threshold, a penalty) with a classical default and
a constraint. When it is learned, the network stores an unconstrained raw tensor and maps it
through a reparametrisation whose value at initialisation is exactly the default:

* no constraint:          value = raw
* ``positive=True``:      value = softplus(raw),                 raw₀ = log(expm1(default))
* ``between=(lo, hi)``:   value = lo + (hi − lo)·sigmoid(raw),   raw₀ = logit((default − lo)/(hi − lo))
* ``log=True``:           value = exp(raw),                      raw₀ = log(default)

A param's shape may depend on the operator: ``shape="x"`` (one value per entry of the signal)
or any ``shape=lambda A: ...`` (a matrix sized by ``A``, say); it is resolved when the network
is built with an operator.

A `Slot` is a named sub-map of an iteration (a proximal map, a linear map, a denoiser) with a
classical default that a learnable `nn.Module` may replace.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

Value = float | Tensor
Shape = tuple[int, ...] | str | Callable[[Any], tuple[int, ...]]


class Rule:
    """A `Param` default computed from the operator, ``rule(A) -> value``, with a readable repr
    (what a network's repr and its docs show), e.g. ``Rule(lambda A: 2 / A.lipschitz(), "2/L")``.

    Any callable ``rule(A)`` is a valid default; `Rule` only names it.
    """

    def __init__(self, fn: Callable[[Any], Value], text: str) -> None:
        if not callable(fn):
            raise TypeError(f"Rule: expected a callable rule(A) -> value, got {type(fn).__name__}")
        self.fn = fn
        self.text = text

    def __call__(self, A: Any) -> Value:
        try:
            value = self.fn(A)
        except ZeroDivisionError:
            value = math.inf
        # floats only: a tensor's check would wait for the device, and rules run in the forward
        if isinstance(value, float) and not math.isfinite(value):  # 1/L of an all-zero operator
            raise ValueError(
                f"A: the default {self.text} is not finite for {A!r} (is the operator all zero?)"
            )
        return value

    def __repr__(self) -> str:
        return self.text


#: Named rules a `Param` default may be given as; each maps the forward operator to a value.
RULES: dict[str, Rule] = {
    "1/L": Rule(lambda A: 1.0 / A.lipschitz(), "1/L"),
    "2/L": Rule(lambda A: 2.0 / A.lipschitz(), "2/L"),
}

#: The shape spelling for "one value per entry of the signal x" (``A.in_shape``).
PER_FEATURE = "x"


def _checked_shape(shape: Any) -> Shape:
    if shape == PER_FEATURE or callable(shape):
        return shape
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, tuple | list) or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(
            f"Param: shape must be a tuple of positive ints, {PER_FEATURE!r} or a callable "
            f"shape(A), got {shape!r}"
        )
    return tuple(shape)


class Param:
    """A named hyperparameter of an algorithm.

    Args:
        default: the classical value: a number, a tensor (of ``shape``), a rule name from
            `RULES` (``"1/L"``: one over the Lipschitz constant ‖A‖² of the data term's gradient),
            or a callable ``rule(A) -> value``.
        positive: the value must be > 0 (learned through softplus).
        between: ``(lo, hi)``: the value must lie in [lo, hi] (learned through a scaled sigmoid,
            so strictly inside).
        log: the value must be > 0 and is learned in log space, ``exp(raw)``: for a scale that
            may have to move by orders of magnitude (a temperature), where an additive step on
            softplus's raw value would take thousands of updates.
        shape: the shape of one layer's value: ``()`` for a scalar, a tuple of ints,
            ``"x"`` for one value per entry of the signal (``A.in_shape``), or a callable
            ``shape(A) -> tuple`` of the operator (e.g. ``lambda A: (*A.in_shape, *A.out_shape)``
            for a matrix mapping measurements to signals).
        doc: one line saying what the parameter is.
    """

    def __init__(
        self,
        default: float | Tensor | str | Rule,
        *,
        positive: bool = False,
        between: tuple[float, float] | None = None,
        log: bool = False,
        shape: Shape = (),
        doc: str = "",
    ) -> None:
        if sum((bool(positive), between is not None, bool(log))) > 1:
            raise ValueError("Param: give at most one of positive=True, between=(lo, hi), log=True")
        if between is not None:
            if (
                not isinstance(between, tuple | list)
                or len(between) != 2
                or not all(isinstance(b, numbers.Real) for b in between)
                or not between[0] < between[1]
            ):
                raise ValueError(
                    f"Param: between must be a pair (lo, hi) with lo < hi, got {between!r}"
                )
            between = (float(between[0]), float(between[1]))
        self.positive = bool(positive)
        self.between = between
        self.log = bool(log)
        self.shape = _checked_shape(shape)
        self.doc = doc
        self.name = "Param default"  # the param's name once an Algorithm declares it
        self.default = self._check_default(default)

    # -- defaults ---------------------------------------------------------------------------
    def _check_default(self, default: Any) -> Any:
        if isinstance(default, str):
            if default not in RULES:
                raise ValueError(
                    f"{self.name}: unknown rule {default!r}; expected a number, a tensor, a "
                    f"callable rule(A), or one of {sorted(RULES)}"
                )
            return default
        if isinstance(default, bool) or not (
            isinstance(default, numbers.Real | Tensor) or callable(default)
        ):
            raise TypeError(
                f"{self.name}: default must be a real number, a tensor, a rule name or a "
                f"callable rule(A), got {type(default).__name__}"
            )
        if isinstance(default, numbers.Real):
            default = float(default)
            self.check(default)
        elif isinstance(default, Tensor):
            if default.is_complex():
                raise TypeError(f"{self.name}: default must be real, got dtype {default.dtype}")
            if isinstance(self.shape, tuple) and tuple(default.shape) not in ((), self.shape):
                raise ValueError(
                    f"{self.name}: default tensor must have shape () or {self.shape}, "
                    f"got {tuple(default.shape)}"
                )
            self.check(default)
        return default

    def with_default(self, default: Any, name: str | None = None) -> Param:
        """A copy of this param with another default (validated) and optionally another name."""
        p = copy.copy(self)
        p.name = self.name if name is None else name
        p.default = p._check_default(default)
        return p

    def with_shape(self, shape: Shape) -> Param:
        """A copy of this param at another shape, its default checked against it: e.g. an
        operator-sized param (``shape=lambda A: ...``) fixed to the sizes an algorithm is
        built for, so that a wrong-sized override fails at construction."""
        p = copy.copy(self)
        p.shape = _checked_shape(shape)
        p.default = p._check_default(self.default)
        return p

    def check(self, value: Value) -> None:
        """Raise ValueError if a (fixed, concrete) value breaks the constraint."""
        if isinstance(value, Tensor):
            if value.requires_grad or value.numel() == 0:
                return
            lo, hi = float(value.min()), float(value.max())
        else:
            lo = hi = float(value)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{self.name}: expected a finite value, got {value!r}")
        if (self.positive or self.log) and lo <= 0:
            flag = "positive=True" if self.positive else "log=True"
            raise ValueError(f"{self.name}: expected a positive value ({flag}), got {lo:g}")
        if self.between is not None and not (self.between[0] <= lo and hi <= self.between[1]):
            raise ValueError(
                f"{self.name}: expected a value in [{self.between[0]:g}, {self.between[1]:g}], "
                f"got {lo:g}" + ("" if lo == hi else f"..{hi:g}")
            )

    def resolve(self, A: Any) -> Value:
        """The default for operator ``A``: the number or tensor, or the rule evaluated at ``A``."""
        d = self.default
        if isinstance(d, str):
            d = RULES[d](A)
        elif callable(d) and not isinstance(d, Tensor):
            d = d(A)
        if isinstance(d, numbers.Real):
            d = float(d)
            self.check(d)
        elif isinstance(d, Tensor) and getattr(A, "dtype", None) is not None:
            real = A.dtype.to_real() if A.dtype.is_complex else A.dtype
            d = d.to(device=A.device, dtype=real)  # a no-op when it already matches
        return d

    @property
    def sized_by_operator(self) -> bool:
        """Whether the shape depends on the operator (``"x"`` or a callable)."""
        return not isinstance(self.shape, tuple)

    def resolved_shape(self, A: Any) -> tuple[int, ...]:
        """The shape of one layer's value for operator ``A``."""
        if isinstance(self.shape, tuple):
            return self.shape
        if callable(self.shape):
            shape = self.shape(A)
            if not isinstance(shape, tuple | list) or not all(
                isinstance(s, int) and s > 0 for s in shape
            ):
                raise ValueError(
                    f"{self.name}: shape(A) must give a tuple of positive ints, got {shape!r}"
                )
            return tuple(shape)
        shape = getattr(A, "in_shape", None)
        if shape is None:
            raise ValueError(
                f"{self.name}: a per-feature param (shape={PER_FEATURE!r}) needs an operator with "
                f"a known in_shape, got {A!r}"
            )
        return tuple(shape)

    # -- reparametrisation ------------------------------------------------------------------
    def to_raw(self, value: Tensor) -> Tensor:
        """Inverse of `from_raw`: the unconstrained tensor whose value is ``value``."""
        v = value.double()
        if self.positive:
            if bool((v <= 0).any()):
                raise ValueError(f"{self.name}: cannot learn from a non-positive default {value}")
            raw = v + torch.log(-torch.expm1(-v))
        elif self.log:
            if bool((v <= 0).any()):
                raise ValueError(f"{self.name}: cannot learn from a non-positive default {value}")
            raw = torch.log(v)
        elif self.between is not None:
            lo, hi = self.between
            u = (v - lo) / (hi - lo)
            if bool(((u <= 0) | (u >= 1)).any()):
                raise ValueError(
                    f"{self.name}: cannot learn from a default on the boundary of between={self.between}; "
                    f"choose a default strictly inside, got {value}"
                )
            raw = torch.log(u) - torch.log1p(-u)
        else:
            raw = v
        return raw.to(value.dtype)

    def from_raw(self, raw: Tensor) -> Tensor:
        """The constrained value of a raw (learned, unconstrained) tensor."""
        if self.positive:
            return F.softplus(raw)
        if self.log:
            return torch.exp(raw)
        if self.between is not None:
            lo, hi = self.between
            return lo + (hi - lo) * torch.sigmoid(raw)
        return raw

    def __repr__(self) -> str:
        parts = [repr(self.default)]
        if self.positive:
            parts.append("positive=True")
        if self.log:
            parts.append("log=True")
        if self.between is not None:
            parts.append(f"between={self.between}")
        if self.shape != ():
            parts.append(f"shape={self.shape!r}")
        return f"Param({', '.join(parts)})"


class Slot:
    """A named sub-map of an iteration with a classical default.

    Args:
        default: the classical map, a callable (often an `nn.Module`, such as a prior whose call
            is its proximal map). A replacement must accept the same call signature.
        doc: the call signature and what the map does, e.g. ``"prox(v, tau) -> x"``.
    """

    def __init__(self, default: Callable[..., Any], *, doc: str = "") -> None:
        if not callable(default):
            raise TypeError(f"Slot: default must be callable, got {type(default).__name__}")
        self.default = default
        self.doc = doc
        self.name = "slot"

    def __repr__(self) -> str:
        return f"Slot({self.default!r})"
