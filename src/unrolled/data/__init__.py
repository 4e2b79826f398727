"""Synthetic problem generators: seeded, reproducible on every machine."""

from .sparse import SparseCoding

#: Problems by the name a run config gives them (``problem: {name: sparse_coding, ...}``).
PROBLEMS = {"sparse_coding": SparseCoding}

__all__ = ["PROBLEMS", "SparseCoding"]
