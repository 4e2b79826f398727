"""The zoo: published unrolled networks, one family per file, each registered by its name.

    unrolled.create("alista", operator=A, layers=16)
    unrolled.list_models("model")

Sparse coding (the LISTA family): ``lista``, ``lista-cp``, ``lista-cpss``, ``steplista``
(`lista`), ``alista`` (`alista`), ``lamp`` (`lamp`).
"""

from .alista import ALISTAIteration, alista, analytic_weight, generalized_coherence
from .lamp import LAMPIteration, lamp
from .lista import LISTACPIteration, LISTAIteration, lista, lista_cp, lista_cpss, step_lista

__all__ = [
    "ALISTAIteration",
    "LAMPIteration",
    "LISTACPIteration",
    "LISTAIteration",
    "alista",
    "analytic_weight",
    "generalized_coherence",
    "lamp",
    "lista",
    "lista_cp",
    "lista_cpss",
    "step_lista",
]
