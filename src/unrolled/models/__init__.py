"""The zoo: published unrolled networks, one family per file, each registered by its name.

    unrolled.create("alista", operator=A, layers=16)
    unrolled.list_models("model")

Sparse coding (the LISTA family): ``lista``, ``lista-cp``, ``lista-cpss``, ``steplista``
(`lista`), ``alista`` (`alista`), ``lamp`` (`lamp`). Baseline, not registered: `MLP`,
a black-box network for data-efficiency comparisons.
"""

from .alista import ALISTAIteration, alista, analytic_weight, generalized_coherence
from .lamp import LAMPBGIteration, LAMPIteration, bernoulli_gaussian_mmse, lamp
from .lista import LISTACPIteration, LISTAIteration, lista, lista_cp, lista_cpss, step_lista
from .mlp import MLP

__all__ = [
    "MLP",
    "ALISTAIteration",
    "LAMPBGIteration",
    "LAMPIteration",
    "LISTACPIteration",
    "LISTAIteration",
    "alista",
    "analytic_weight",
    "bernoulli_gaussian_mmse",
    "generalized_coherence",
    "lamp",
    "lista",
    "lista_cp",
    "lista_cpss",
    "step_lista",
]
