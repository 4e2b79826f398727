"""Analysis: a learned network against its classical algorithm, per layer; plots and reports."""

from ..data.sparse import CLASSICAL_LAMBDA
from .compare import LayerComparison, compare_with_classical, iterations_to_reach
from .plots import plot_nmse
from .report import write_report

__all__ = [
    "CLASSICAL_LAMBDA",
    "LayerComparison",
    "compare_with_classical",
    "iterations_to_reach",
    "plot_nmse",
    "write_report",
]
