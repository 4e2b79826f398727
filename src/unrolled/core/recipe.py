"""`Recipe`: how a registered model trains, kept as data beside its registration.

A recipe holds `unrolled.train.fit`'s settings for one model: fixed ones (``settings``, e.g.
``{"schedule": "layerwise", "batch_size": 128}``) and ones derived from the problem and the model
(``derive(model, problem) -> dict``, e.g. a learning rate from the parameter count), plus an
optional ``prepare(model, problem)`` that sets the model's own problem-dependent choices (e.g.
the support selection of LISTA-CPSS from the data's sparsity) before training. ``fit(model,
problem)`` with no training argument uses the recipe; each explicit argument overrides its
field. ``notes`` says where each number comes from (a paper, or measured here).

The core only stores recipes (nothing here imports the training code)::

    @register("alista", recipe=Recipe({"schedule": "layerwise", "lr": 1e-2}, notes="..."))
    def alista(...): ...

    ur.create("alista", operator=A).recipe     # the model carries it
    ur.recipe_of("alista")                     # or ask the registry
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Derive = Callable[[Any, Any], Mapping[str, Any]]
Prepare = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Recipe:
    """A model's training recipe (see the module docstring).

    Attributes:
        settings: `fit` keyword arguments that do not depend on the problem.
        derive: ``derive(model, problem) -> dict`` of `fit` keyword arguments computed from the
            problem and the model (what a constant tuned on one problem size would get wrong).
        prepare: ``prepare(model, problem)``: set the model's problem-dependent choices before
            training (and before evaluating a saved run, so it must be deterministic and must
            not draw from the problem's training stream); ``None`` for none.
        notes: where each number comes from.
        derived: a short text naming what ``derive`` and ``prepare`` compute, for listings.
    """

    settings: Mapping[str, Any] = field(default_factory=dict)
    derive: Derive | None = None
    prepare: Prepare | None = None
    notes: str = ""
    derived: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Mapping):
            raise TypeError(
                f"settings: expected a mapping of fit's keyword arguments, got "
                f"{type(self.settings).__name__}"
            )
        for name in ("derive", "prepare"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name}: expected a callable or None, got {type(value).__name__}")
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def resolve(self, model: Any, problem: Any) -> dict[str, Any]:
        """The recipe's `fit` settings for ``model`` on ``problem``: fixed, then derived."""
        out = dict(self.settings)
        if self.derive is not None:
            out.update(self.derive(model, problem))
        return out

    def summary(self) -> str:
        """One line: the fixed settings, then what is derived from the problem."""
        parts = [f"{k} {_short(v)}" for k, v in self.settings.items()]
        if self.derived:
            parts.append(f"derived: {self.derived}")
        return "; ".join(parts) if parts else "fit's defaults"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


__all__ = ["Recipe"]
