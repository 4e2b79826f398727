"""Classical algorithms, one per file, each registered by its lower-case name."""

from .admm import ADMM
from .amp import AMP
from .fista import FISTA
from .gd import GD
from .ista import ISTA

__all__ = ["ADMM", "AMP", "FISTA", "GD", "ISTA"]
