"""LAMP: learned AMP (Borgerding, Schniter & Rangan 2017), with the soft threshold (LAMP-ℓ1) or
the Bernoulli-Gaussian MMSE denoiser (LAMP-bg)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..algorithms import AMP
from ..core import Layer, Param, Recipe, Rule, Unrolled, register, unroll
from ..core.checks import positive_int
from ._common import (
    dense,
    matrix_lr,
    n_by_m,
    operator_sizes,
    positive_number,
    probability,
)

#: AMP's default threshold multiplier α (Borgerding et al.'s 1.1402).
ALPHA = AMP.param_specs["alpha"].default
SHRINKAGES = ("soft", "bg")


def bernoulli_gaussian_mmse(
    r: Tensor, noise_var: Tensor, sparsity: Any, signal_var: Any
) -> tuple[Tensor, Tensor]:
    """The MMSE estimate ``E[x | r]`` and its derivative, for ``r = x + w``, ``w ~ N(0, s²)``
    and ``x`` Bernoulli(λ)-Gaussian(0, v) entrywise:

        β = v/(v + s²),   π(r) = P(x ≠ 0 | r) = σ(log(λ/(1−λ)) − ½ log(1 + v/s²) + ½ β r²/s²)
        x̂ = π β r,       dx̂/dr = β (π + π (1 − π) β r²/s²)

    (σ the logistic function; Borgerding et al.'s ``shrink_bgest`` in this stable form).

    Args:
        r: ``(B, n)`` the noisy estimate, real.
        noise_var: ``s²``, broadcasting against ``r`` (``(B, 1)`` per sample); clamped away
            from 0, so that a zero residual (exact recovery) gives a finite answer.
        sparsity: λ in (0, 1), a number or a 0-d tensor (a learned λ is kept off 0 and 1 by
            machine epsilon).
        signal_var: v > 0, a number or a 0-d tensor.

    Returns ``(x̂, dx̂/dr)``, both shaped like ``r``.
    """
    if r.is_complex():
        raise TypeError(f"r: expected a real tensor, got {r.dtype}")
    finfo = torch.finfo(r.dtype)
    if isinstance(sparsity, Tensor):
        log_odds: Any = torch.logit(sparsity, eps=finfo.eps)
    else:
        log_odds = math.log(probability(sparsity, "sparsity") / (1 - sparsity))
    v = signal_var if isinstance(signal_var, Tensor) else positive_number(signal_var, "signal_var")
    s2 = noise_var.clamp_min(finfo.tiny)
    beta = v / (v + s2)
    # capped, so that π(1 − π)·scaled stays 0 (not 0·inf) where the posterior is certain
    scaled = (beta * r.square() / s2).clamp_max(finfo.max)
    pi = torch.sigmoid(log_odds - 0.5 * (torch.log(v + s2) - torch.log(s2)) + 0.5 * scaled)
    return pi * beta * r, beta * (pi + pi * (1 - pi) * scaled)


class LAMPIteration(AMP):
    """One layer of LAMP-ℓ1: AMP (`unrolled.algorithms.AMP`) with a matrix ``B_t`` in place of the
    back-projection ``Aᵀ``; default ``B = Aᵀ`` makes it one AMP step.

    Args:
        m, n: the operator's sizes, ``A: ℝⁿ -> ℝᵐ``.

    Shapes: ``y`` (B, m), ``x`` (B, n), ``B`` (n, m), ``alpha`` ().
    """

    B = Param(Rule(lambda A: dense(A).mT, "Aᵀ"), shape=n_by_m, doc="B (n, m): the back-projection")

    def __init__(self, m: int, n: int, **overrides: Any) -> None:
        self.m, self.n = positive_int(m, "m"), positive_int(n, "n")
        super().__init__(**overrides)
        self.params["B"] = self.params["B"].with_shape((n, m))

    def backproject(self, z: Tensor, A: Any, p: Layer) -> Tensor:
        return z @ p.B.mT


class LAMPBGIteration(LAMPIteration):
    """One layer of LAMP-bg: LAMP with the Bernoulli-Gaussian MMSE denoiser
    (`bernoulli_gaussian_mmse`) at noise variance ``σ̂² = ‖z‖²/m`` in place of the soft threshold;
    its params are the prior's ``sparsity`` λ and ``signal_var`` v. At the true prior and
    ``B = Aᵀ`` it is Bayes-optimal AMP for i.i.d. Gaussian ``A``.

    Shapes: as `LAMPIteration`; ``sparsity`` (), ``signal_var`` ().
    """

    alpha = None  # no threshold: the denoiser has its own params
    sparsity = Param(0.1, between=(0.0, 1.0), doc="λ: the prior probability that x_j ≠ 0")
    signal_var = Param(1.0, positive=True, doc="v: the prior variance of a non-zero x_j")

    def denoise(self, r: Tensor, sigma: Tensor, p: Layer) -> tuple[Tensor, Tensor]:
        return bernoulli_gaussian_mmse(r, sigma.square(), p.sparsity, p.signal_var)


#: LAMP's recipe: layer-wise growth then refinement, as Borgerding et al. train it; Adam 1e-3
#: at 250×500 (their rate), scaled with the size (`matrix_lr`); the loss in dB.
RECIPE = Recipe(
    {"schedule": "layerwise", "batch_size": 64, "loss": "nmse_db", "patience": 300},
    derive=matrix_lr(1e-3),
    derived="lr 1e-3·√(250/m)·c, m measurements, c < 1 for a dictionary more coherent than a Gaussian one",
    notes="schedule and rate 1e-3: Borgerding et al.'s onsager_deep_learning; the loss in dB "
    "and patience 300 measured here.",
)


@register("lamp", kind="model", recipe=RECIPE)
def lamp(
    *,
    operator: Any = None,
    layers: int = 16,
    shrinkage: str = "soft",
    alpha: float | None = None,
    sparsity: float | None = None,
    signal_var: float | None = None,
    backprop: str = "full",
) -> Unrolled:
    """LAMP, learned AMP (Borgerding, Schniter & Rangan 2017).

        r_t     = x_t + B_t z_t
        x_{t+1} = η_t(r_t; σ̂_t),   σ̂_t = ‖z_t‖₂/√m
        z_{t+1} = y − A x_{t+1} + (1/m) Σⱼ η_t'(r_t)ⱼ · z_t,        x_0 = 0, z_0 = y

    AMP's iteration (`unrolled.algorithms.AMP`) with a learned back-projection ``B_t`` (n, m) per
    layer. The Onsager term keeps the effective noise in ``r_t`` Gaussian-like, so few layers
    suffice. The denoiser ``η_t``:

    * ``shrinkage="soft"`` (LAMP-ℓ1): the soft threshold at ``α_t σ̂_t``, ``α_t`` learned (> 0);
      Σ η' = ‖x_{t+1}‖₀. Initialised at ``B = Aᵀ``, ``α = 1.1402``: before training the network
      computes exactly ``layers`` AMP iterations.
    * ``shrinkage="bg"`` (LAMP-bg): the MMSE estimator of a Bernoulli(λ_t)-Gaussian(0, v_t) prior
      at noise variance σ̂_t² (`bernoulli_gaussian_mmse`), ``λ_t`` in (0, 1) and ``v_t`` > 0
      learned. Initialised at ``B = Aᵀ`` and the given prior: before training, Bayes-optimal AMP,
      whose state evolution matched VAMP shares for i.i.d. Gaussian ``A``.

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ`` (AMP's theory wants i.i.d. entries of
            variance 1/m).
        layers: K, the depth.
        shrinkage: ``"soft"`` or ``"bg"``.
        alpha: ``"soft"`` only: α's initial value (default 1.1402).
        sparsity, signal_var: ``"bg"`` only: the prior's initial λ and v (defaults 0.1 and 1,
            the LISTA benchmark's prior).
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns an `unrolled.Unrolled` with params ``B`` (K, n, m) and ``alpha`` (K,), or ``sparsity``
    and ``signal_var`` (K,) each; ``y`` (B, m) -> ``x`` (B, n).

    Departures from the paper: Borgerding et al.'s code initialises ``B = Aᵀ/(1.01·‖A‖²)`` and,
    in its LAMP script, ties one ``B`` across layers; here ``B_t = Aᵀ`` per layer, so that the
    untrained network is AMP. They train layer-wise (grow one layer at a time, then refine),
    which is `unrolled.train`'s business. α and v are kept positive and λ in (0, 1) by
    reparametrisation where their code clips or takes absolute values. Their piecewise-linear,
    exponential and spline shrinkages are not provided.
    """
    if shrinkage not in SHRINKAGES:
        raise ValueError(f"shrinkage: expected one of {SHRINKAGES}, got {shrinkage!r}")
    given = {"alpha": alpha, "sparsity": sparsity, "signal_var": signal_var}
    own = {"soft": ("alpha",), "bg": ("sparsity", "signal_var")}[shrinkage]
    for name, value in given.items():
        if value is not None and name not in own:
            raise ValueError(
                f"{name}: belongs to another shrinkage than {shrinkage!r} (whose initial values "
                f"are {', '.join(own)}), got {value!r}"
            )
    m, n = operator_sizes(operator, "lamp")
    if shrinkage == "soft":
        a = ALPHA if alpha is None else positive_number(alpha, "alpha")
        iteration: LAMPIteration = LAMPIteration(m, n, alpha=a)
        learn = ["B", "alpha"]
    else:
        lam = 0.1 if sparsity is None else probability(sparsity, "sparsity")
        v = 1.0 if signal_var is None else positive_number(signal_var, "signal_var")
        iteration = LAMPBGIteration(m, n, sparsity=lam, signal_var=v)
        learn = ["B", "sparsity", "signal_var"]
    return unroll(iteration, layers, learn=learn, operator=operator, backprop=backprop)


__all__ = ["LAMPBGIteration", "LAMPIteration", "bernoulli_gaussian_mmse", "lamp"]
