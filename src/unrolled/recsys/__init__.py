"""Recommendation: the pieces of collaborative filtering that are not iterations of an
`Algorithm`: the baseline predictor, the truncated SVD soft-impute and ALS start from, and
biased matrix factorisation by SGD (the usual baseline).

A rating matrix is dense and masked: ``y`` ``(B, U, I)`` holds the observed ratings (0
elsewhere) and `unrolled.ops.Inpainting` with the 0/1 mask is its operator (``AᴴA1`` is the
mask). The iterative methods are algorithms (`unrolled.algorithms.SoftImpute`,
`unrolled.algorithms.ALS`), the learned ones models, the data and splits in `unrolled.data`.

Implicit feedback (who interacted with what) is ranked by propagation on the item graph
`item_graph` (`unrolled.algorithms.GraphFilter`, `unrolled.algorithms.PPRPropagation`); its
classical baselines are `item_knn` and BPR-MF (`fit_bpr_mf`).
"""

from .biases import observed_mean, rating_biases
from .bpr import BPRMF, fit_bpr_mf, sample_negatives
from .graph import ItemGraph, item_graph
from .item_knn import item_knn
from .low_rank import cosine_basis, orthonormal_basis, subspace_svd
from .mf import BiasedMF, fit_biased_mf
from .operator import check_sampling_operator, observation_mask

__all__ = [
    "BPRMF",
    "BiasedMF",
    "ItemGraph",
    "check_sampling_operator",
    "cosine_basis",
    "fit_biased_mf",
    "fit_bpr_mf",
    "item_graph",
    "item_knn",
    "observation_mask",
    "observed_mean",
    "orthonormal_basis",
    "rating_biases",
    "sample_negatives",
    "subspace_svd",
]
