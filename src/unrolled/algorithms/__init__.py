"""Classical algorithms, one per file, each registered by its lower-case name."""

from .admm import ADMM
from .amp import AMP
from .cg import CG
from .fista import FISTA
from .gd import GD
from .hqs import HQS
from .ista import ISTA
from .mimo_amp import MIMOAMP
from .oamp import OAMP
from .pdhg import PDHG

__all__ = ["ADMM", "AMP", "CG", "FISTA", "GD", "HQS", "ISTA", "MIMOAMP", "OAMP", "PDHG"]
