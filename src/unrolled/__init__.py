"""unrolled: algorithmic unrolling (deep unfolding) in PyTorch.

A known iterative algorithm becomes a fixed-depth network, one layer per iteration, whose step
sizes, thresholds and sub-operators are learned end to end::

    import unrolled as ur
    net = ur.unroll(ur.algorithms.ISTA, layers=16, learn=["step", "threshold"], operator=A)
"""

import importlib
from types import ModuleType

from . import algorithms, comms, models, nn, ops, priors, recsys
from .core import (
    PER_FEATURE,
    RULES,
    Algorithm,
    Layer,
    Param,
    Recipe,
    Slot,
    Unrolled,
    create,
    iteration,
    kind_of,
    list_models,
    recipe_of,
    register,
    unroll,
)
from .ops import LinearOperator, Matrix, check_adjoint

__version__ = "0.1.0"

#: Submodules imported on first use (``ur.train.fit``), with the extra that brings what each
#: needs beyond torch and numpy: ``import unrolled`` stays quick and works on the core alone.
_LAZY = {"train": "train", "metrics": None, "data": "imaging", "analysis": "cli", "runs": "cli"}


def __getattr__(name: str) -> ModuleType:
    if name not in _LAZY:
        raise AttributeError(f"module 'unrolled' has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        missing = (err.name or "").partition(".")[0]
        if not missing or missing == __name__ or _LAZY[name] is None:
            raise
        raise ImportError(
            f"unrolled.{name} needs {missing!r}, which is not installed: "
            f"pip install 'unrolled[{_LAZY[name]}]'"
        ) from err
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "PER_FEATURE",
    "RULES",
    "Algorithm",
    "Layer",
    "LinearOperator",
    "Matrix",
    "Param",
    "Recipe",
    "Slot",
    "Unrolled",
    "algorithms",
    "analysis",
    "check_adjoint",
    "comms",
    "create",
    "data",
    "iteration",
    "kind_of",
    "list_models",
    "metrics",
    "models",
    "nn",
    "ops",
    "priors",
    "recipe_of",
    "recsys",
    "register",
    "runs",
    "train",
    "unroll",
]
