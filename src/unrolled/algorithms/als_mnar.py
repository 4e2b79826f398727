"""ALS for ratings missing not at random: the unrated entries count, as low ratings with a
small weight."""

from __future__ import annotations

from torch import Tensor

from ..core import Layer, Param, register
from .als import ALS


@register("als-mnar")
class ALSMNAR(ALS):
    """`ALS` with Steck's (2010) weighting of the unrated entries ("Training and testing of
    recommender systems on data missing not at random", KDD): every unrated entry joins the
    sums as a rating of ``μ + r_m`` with weight ``w_m``, the user half-step becoming

        argmin Σ_{i∈Ω_u} (r_ui − μ − c_i − b_u − p_uᵀq_i)² + w_m Σ_{i∉Ω_u} (r_m − c_i − b_u − p_uᵀq_i)²
               + λ_t n_u (‖p_u‖² + b_u²)

    and the item half-step alike (the other updates as `ALS`). Ratings are not missing at
    random (people rate what they chose to watch): pulling the unrated entries down ranks the
    items a user would take above those nobody takes, which a fit to the observed ratings alone
    leaves to chance, at the price of the observed ratings' RMSE. ``w_m → 0`` is `ALS`.

    Params (beside `ALS`'s): ``missing_weight`` w_m in [0, 1], ``missing_value`` r_m (the rating
    imputed, relative to μ). Their defaults, 0.3 and −3, lie in the middle of the plateau of
    validation Recall@10 on MovieLens-100K (`benchmarks/recsys.py`'s grid).

    Shapes: as `ALS`.
    """

    missing_weight = Param(0.3, between=(0.0, 1.0), doc="w_m, the weight of an unrated entry")
    missing_value = Param(-3.0, doc="r_m, the rating imputed to unrated entries, minus μ")

    def weighted(self, R: Tensor, W: Tensor, p: Layer) -> tuple[Tensor, Tensor]:
        unrated = 1 - W
        return R + unrated * p.missing_value, W + unrated * p.missing_weight


__all__ = ["ALSMNAR"]
