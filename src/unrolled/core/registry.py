"""The registry: every algorithm and model by its lower-case name (in the style of timm).

unrolled.create("ista", threshold=0.05)        # an Algorithm instance
unrolled.create("lista", operator=A, layers=16) # a model (an nn.Module)
unrolled.list_models()                         # every name
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from .algorithm import Algorithm

F = TypeVar("F", bound=Callable[..., Any])

#: What can be registered: classical algorithms (unrollable), zoo models, linear operators
#: (`unrolled.ops`), priors (`unrolled.priors`) and learnable blocks (`unrolled.nn`).
KINDS = ("algorithm", "model", "operator", "prior", "block")
_REGISTRY: dict[str, tuple[str, Callable[..., Any]]] = {}


def register(name: str | None = None, *, kind: str | None = None) -> Callable[[F], F]:
    """Class or function decorator registering a factory under ``name`` (default: its name, lower-cased).

    ``kind`` is ``"algorithm"`` for `Algorithm` subclasses (found automatically), and otherwise
    one of `KINDS` (default ``"model"``).
    """

    def decorate(factory: F) -> F:
        target = type(factory) if isinstance(factory, Algorithm) else factory  # an @iteration
        key = (name or target.__name__).lower()
        k = kind or (
            "algorithm" if isinstance(target, type) and issubclass(target, Algorithm) else "model"
        )
        if k not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {k!r}")
        if key in _REGISTRY and _REGISTRY[key][1] is not target:
            raise ValueError(f"name: {key!r} is already registered to {_REGISTRY[key][1]!r}")
        _REGISTRY[key] = (k, target)
        return factory

    return decorate


def get(name: str) -> Callable[..., Any]:
    """The factory registered under ``name``."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        close = difflib.get_close_matches(str(key), list(_REGISTRY), n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise ValueError(
            f"name: no registered algorithm or model {name!r}{hint} (see list_models())"
        )
    return _REGISTRY[key][1]


def create(name: str, **kwargs: Any) -> Any:
    """Build the registered algorithm or model ``name`` with keyword arguments ``kwargs``."""
    return get(name)(**kwargs)


def kind_of(name: str) -> str:
    """The kind (one of `KINDS`) of the registered ``name``."""
    get(name)
    return _REGISTRY[name.lower()][0]


def list_models(kind: str | None = None) -> list[str]:
    """Sorted registered names; ``kind`` (one of `KINDS`) to filter."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS} or None, got {kind!r}")
    return sorted(n for n, (k, _) in _REGISTRY.items() if kind is None or k == kind)
