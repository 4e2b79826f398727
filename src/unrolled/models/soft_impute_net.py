"""Unrolled soft-impute: matrix completion with a learned step and threshold per layer."""

from __future__ import annotations

from typing import Any

from ..algorithms.soft_impute import SoftImpute
from ..core import register, unroll
from ..recsys import check_sampling_operator
from .als_net import RECIPE


@register("soft-impute-net", recipe=RECIPE)
def soft_impute_net(
    operator: Any = None,
    layers: int = 10,
    rank: int = 32,
    threshold: float = 0.05,
    backprop: str = "full",
) -> Any:
    """`unrolled.algorithms.SoftImpute` (Mazumder, Hastie & Tibshirani 2010) unrolled, its step
    α_t and threshold λ_t learned per layer:

        Z_{t+1} = S_{α_t λ_t σ₁(R)}( Z_t + α_t (R − P_Ω(Z_t)) ),   x̂ = μ + b_u + c_i + Z_K

    They start at α = 1 and λ = ``threshold``: the untrained network is soft-impute. Learned,
    a large early threshold with an over-relaxed step reaches in a few layers the low-rank
    estimate soft-impute needs many iterations for (the LISTA argument, made for matrices).

    Departures from the paper: the paper has no learned version; the per-layer step and
    threshold are ours. The iteration departs as `unrolled.algorithms.SoftImpute` does (a
    warm-started truncated SVD, a threshold relative to σ₁ of the observed residual, the
    baseline predictor's residual rather than centred ratings).

    Args:
        operator: the `unrolled.ops.Inpainting` of the training mask (sizes nothing: each
            sample brings its own).
        layers: iterations unrolled.
        rank: the truncation of each layer's SVD.
        threshold: the classical λ (a fraction of σ₁ of the observed residual) the layers start
            from; tune it on held-out ratings (`benchmarks/recsys.py` does).
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.RatingCompletion` with ``loss="mse"`` (the error on held-out
    ratings).
    """
    if operator is not None:
        check_sampling_operator(operator, "soft-impute-net")
    algorithm = SoftImpute(rank=rank, threshold=threshold)
    return unroll(
        algorithm, layers, learn=("step", "threshold"), operator=operator, backprop=backprop
    )


__all__ = ["soft_impute_net"]
