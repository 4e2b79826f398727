"""unrolled: algorithmic unrolling (deep unfolding) in PyTorch.

A known iterative algorithm becomes a fixed-depth network, one layer per iteration, whose step
sizes, thresholds and sub-operators are learned end to end::

    import unrolled as ur
    net = ur.unroll(ur.algorithms.ISTA, layers=16, learn=["step", "threshold"], operator=A)
"""

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
    "check_adjoint",
    "comms",
    "create",
    "iteration",
    "kind_of",
    "list_models",
    "models",
    "nn",
    "ops",
    "priors",
    "recipe_of",
    "recsys",
    "register",
    "unroll",
]
