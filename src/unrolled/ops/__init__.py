"""Linear operators (forward models): one file per family."""

from .base import Adjoint, Composition, LinearOperator, Scaled, Sum
from .cg import conjugate_gradient
from .check import AdjointMismatchError, check_adjoint
from .diagonal import Diagonal, Identity
from .matrix import Matrix

__all__ = [
    "Adjoint",
    "AdjointMismatchError",
    "Composition",
    "Diagonal",
    "Identity",
    "LinearOperator",
    "Matrix",
    "Scaled",
    "Sum",
    "check_adjoint",
    "conjugate_gradient",
]
