"""Synthetic problem generators: seeded, reproducible on every machine."""

from .sparse import SparseCoding

__all__ = ["SparseCoding"]
