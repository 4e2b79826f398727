"""The small heart of unrolled: params, slots, algorithms, unrolling, the registry."""

from .algorithm import Algorithm, Layer, iteration
from .param import PER_FEATURE, RULES, Param, Rule, Slot
from .recipe import Recipe
from .registry import create, get, kind_of, list_models, recipe_of, register
from .unroll import Unrolled, unroll

__all__ = [
    "PER_FEATURE",
    "RULES",
    "Algorithm",
    "Layer",
    "Param",
    "Recipe",
    "Rule",
    "Slot",
    "Unrolled",
    "create",
    "get",
    "iteration",
    "kind_of",
    "list_models",
    "recipe_of",
    "register",
    "unroll",
]
