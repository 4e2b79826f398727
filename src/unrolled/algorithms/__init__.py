"""Classical algorithms, one per file, each registered by its lower-case name."""

from ._steps import adjoint_start, zero_start
from .admm import ADMM
from .als import ALS
from .als_mnar import ALSMNAR
from .amp import AMP
from .cg import CG
from .embedding_propagation import EmbeddingPropagation
from .ep import EP
from .fista import FISTA
from .gd import GD
from .graph_filter import GraphFilter
from .hqs import HQS
from .implicit_als import ImplicitALS
from .ista import ISTA
from .mimo_amp import MIMOAMP
from .mlem import MLEM, OSEM, QuadraticMAP, log_quadratic_argmax
from .oamp import OAMP
from .pdhg import PDHG
from .ppr import PPRPropagation
from .sbl import SBL
from .soft_impute import SoftImpute

__all__ = [
    "ADMM",
    "ALS",
    "ALSMNAR",
    "AMP",
    "CG",
    "EP",
    "FISTA",
    "GD",
    "HQS",
    "ISTA",
    "MIMOAMP",
    "MLEM",
    "OAMP",
    "OSEM",
    "PDHG",
    "SBL",
    "EmbeddingPropagation",
    "GraphFilter",
    "ImplicitALS",
    "PPRPropagation",
    "QuadraticMAP",
    "SoftImpute",
    "adjoint_start",
    "log_quadratic_argmax",
    "zero_start",
]
