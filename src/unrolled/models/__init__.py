"""The zoo: published unrolled networks, one family per file, each registered by its name.

    unrolled.create("alista", operator=A, layers=16)
    unrolled.list_models("model")

Sparse coding (the LISTA family): ``lista``, ``lista-cp``, ``lista-cpss``, ``steplista``
(`lista`), ``alista`` (`alista`), ``lamp`` (`lamp`); sparse Bayesian learning: ``sbl-net``
(`sbl_net`).

Imaging: ``ista-net``, ``ista-net-plus`` (`ista_net`, block CS), ``admm-net`` (`admm_net`),
``modl`` (`modl`), ``varnet`` (`varnet`) for MRI, ``usrnet`` (`usrnet`, deblurring and
super-resolution), ``learned-primal-dual`` (`primal_dual`, any operator), ``pnp-pgd`` and
``pnp-hqs`` (`pnp`).

Emission tomography: ``em-net`` (`em_net`, FBSEM-Net's form over MLEM or OSEM).

MIMO detection: ``oamp-net`` and ``oamp-net2`` (`oamp_net`), ``detnet`` (`detnet`),
``mmnet`` (`mmnet`).

Recommendation (matrix completion): ``soft-impute-net`` (`soft_impute_net`), ``als-net``
(`als_net`).

Baselines, not registered: `MLP` (vectors) and `UNetBaseline` (images), black-box networks.
"""

from .admm_net import FilterShrinkage, admm_net
from .alista import ALISTAIteration, alista, analytic_weight, generalized_coherence
from .als_net import FactorCorrection, als_net
from .detnet import DetNetIteration, DetNetLift, detnet
from .em_net import FBSEMStep, em_net
from .ep_net import ep_net
from .graph_filter_net import graph_filter_net
from .implicit_als_net import implicit_als_net
from .ista_net import ISTANetIteration, ISTANetTransform, ista_net, ista_net_plus
from .lamp import LAMPBGIteration, LAMPIteration, bernoulli_gaussian_mmse, lamp
from .lightgcn import lightgcn
from .lista import LISTACPIteration, LISTAIteration, lista, lista_cp, lista_cpss, step_lista
from .mlp import MLP
from .mmnet import MMNetIteration, mmnet
from .modl import MoDLIteration, modl
from .oamp_net import oamp_net, oamp_net2
from .pnp import pnp_hqs, pnp_pgd
from .primal_dual import LearnedPrimalDualIteration, learned_primal_dual
from .sbl_net import VarianceMap, sbl_net
from .soft_impute_net import soft_impute_net
from .unet_baseline import UNetBaseline
from .usrnet import ConditionedUNet, DPIRSchedule, HyperNetwork, USRNetIteration, usrnet
from .varnet import NormUNet, VarNetIteration, varnet

__all__ = [
    "MLP",
    "ALISTAIteration",
    "ConditionedUNet",
    "DPIRSchedule",
    "DetNetIteration",
    "DetNetLift",
    "FBSEMStep",
    "FactorCorrection",
    "FilterShrinkage",
    "HyperNetwork",
    "ISTANetIteration",
    "ISTANetTransform",
    "LAMPBGIteration",
    "LAMPIteration",
    "LISTACPIteration",
    "LISTAIteration",
    "LearnedPrimalDualIteration",
    "MMNetIteration",
    "MoDLIteration",
    "NormUNet",
    "UNetBaseline",
    "USRNetIteration",
    "VarNetIteration",
    "VarianceMap",
    "admm_net",
    "alista",
    "als_net",
    "analytic_weight",
    "bernoulli_gaussian_mmse",
    "detnet",
    "em_net",
    "ep_net",
    "generalized_coherence",
    "graph_filter_net",
    "implicit_als_net",
    "ista_net",
    "ista_net_plus",
    "lamp",
    "learned_primal_dual",
    "lightgcn",
    "lista",
    "lista_cp",
    "lista_cpss",
    "mmnet",
    "modl",
    "oamp_net",
    "oamp_net2",
    "pnp_hqs",
    "pnp_pgd",
    "sbl_net",
    "soft_impute_net",
    "step_lista",
    "usrnet",
    "varnet",
]
