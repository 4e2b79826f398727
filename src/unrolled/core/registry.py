"""The registry: every algorithm and model by its lower-case name (in the style of timm).

unrolled.create("ista", threshold=0.05)        # an Algorithm instance
unrolled.create("lista", operator=A, layers=16) # a model (an nn.Module)
unrolled.list_models()                         # every name
unrolled.recipe_of("alista")                   # a model's training recipe
unrolled.create("modl", weights="mri-8coil-4x") # a model with weights shipped in the package
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from .algorithm import Algorithm
from .recipe import Recipe

F = TypeVar("F", bound=Callable[..., Any])

#: What can be registered: classical algorithms (unrollable), zoo models, linear operators
#: (`unrolled.ops`), priors (`unrolled.priors`), learnable blocks (`unrolled.nn`) and training
#: problems (`unrolled.data`).
KINDS = ("algorithm", "model", "operator", "prior", "block", "problem")
_REGISTRY: dict[str, tuple[str, Callable[..., Any]]] = {}
_RECIPES: dict[str, Recipe] = {}


def register(
    name: str | None = None, *, kind: str | None = None, recipe: Recipe | None = None
) -> Callable[[F], F]:
    """Class or function decorator registering a factory under ``name`` (default: its name, lower-cased).

    ``kind`` is ``"algorithm"`` for `Algorithm` subclasses (found automatically), and otherwise
    one of `KINDS` (default ``"model"``). A model registers its training ``recipe`` here (a
    `Recipe`): the decorated factory then returns networks that carry it as ``net.recipe``,
    which ``fit(net, problem)`` uses.
    """
    if recipe is not None and not isinstance(recipe, Recipe):
        raise TypeError(f"recipe: expected an unrolled.Recipe or None, got {type(recipe).__name__}")

    def decorate(factory: F) -> F:
        target = type(factory) if isinstance(factory, Algorithm) else factory  # an @iteration
        key = (name or target.__name__).lower()
        k = kind or (
            "algorithm" if isinstance(target, type) and issubclass(target, Algorithm) else "model"
        )
        if k not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {k!r}")
        if recipe is not None:
            if k != "model" or isinstance(target, type):
                raise ValueError(f"recipe: only a model factory (a function) has one, got {key!r}")
            factory = target = _carrying(factory, recipe)  # type: ignore[assignment]
        old = _REGISTRY.get(key, (k, target))[1]
        if getattr(old, "__wrapped__", old) is not getattr(target, "__wrapped__", target):
            raise ValueError(f"name: {key!r} is already registered to {old!r}")
        _REGISTRY[key] = (k, target)
        if recipe is not None:
            _RECIPES[key] = recipe
        return factory

    return decorate


def _carrying(factory: F, recipe: Recipe) -> F:
    """``factory`` whose networks carry ``recipe`` as ``.recipe``."""

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> Any:
        net = factory(*args, **kwargs)
        if isinstance(net, nn.Module):
            net.recipe = recipe
        return net

    build.recipe = recipe  # type: ignore[attr-defined]
    return build  # type: ignore[return-value]


def recipe_of(name: str) -> Recipe | None:
    """The training recipe registered with the model ``name``, or ``None`` if it has none."""
    get(name)
    return _RECIPES.get(name.lower())


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


def create(name: str, weights: str | None = None, **kwargs: Any) -> Any:
    """Build the registered algorithm or model ``name`` with keyword arguments ``kwargs``.

    ``weights``: the name of weights shipped with the package for this model
    (`unrolled.pretrained`, e.g. ``create("modl", weights="mri-8coil-4x")``): the model is
    built as they were trained and loaded with them, in evaluation mode.
    """
    if weights is not None:
        from ..pretrained import load

        get(name)
        return load(name, weights, **kwargs)
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
