"""ALISTA: LISTA-CPSS with an analytic weight (Liu, Chen, Wang & Yin 2019)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..core import Layer, Param, Recipe, Rule, Unrolled, register, unroll
from ..core.checks import non_negative_int
from ._common import AUTO, SCALAR_SETTINGS, dense, m_by_n, operator_sizes, prepare_sparse
from .lista import LISTACPIteration

#: ALISTA's initial ℓ1 weight: θ starts at 0.4/L, as in the ALISTA repository (``--lam 0.4``).
ALISTA_LAMBDA = 0.4

#: Default refinement steps of `analytic_weight` beyond the Frobenius solution: none. A W of
#: lower generalised coherence trained worse here (100×200, 16 layers, 800 Adam steps: −32 dB
#: after 100 steps of refinement, μ̃ 0.13, even with γ rescaled to match ‖WᵀA‖, against −43 dB
#: for the Frobenius W, μ̃ 0.31).
COHERENCE_STEPS = 0


def generalized_coherence(W: Tensor, A: Tensor) -> Tensor:
    """The generalised mutual coherence ``μ̃ = max_{i≠j} |w_iᵀ a_j|`` of ``W`` with ``A``.

    Args:
        W, A: ``(m, n)`` matrices; ``diag(WᵀA) = 1`` is assumed, not checked.

    Returns a 0-dim tensor.
    """
    G = W.mT @ A
    return (G - torch.diag_embed(torch.diagonal(G))).abs().amax()


def _matrix(A: Any) -> Tensor:
    if isinstance(A, Tensor):
        if A.ndim != 2 or A.is_complex():
            raise ValueError(f"A: expected a real (m, n) matrix, got {A.dtype} {tuple(A.shape)}")
        return A.detach().to(torch.float64)
    return dense(A)


@torch.no_grad()
def analytic_weight(A: Any, steps: int = COHERENCE_STEPS) -> Tensor:
    """ALISTA's data-free weight ``W`` (m, n) for a matrix ``A`` (m, n), with ``diag(WᵀA) = 1``.

    1. The Frobenius solution (Liu et al. 2019; their repository's ``CalculateW.m``)

           W_F = argmin ‖WᵀA‖_F²  subject to  w_iᵀa_i = 1 for every column i,

       separable per column and solved in closed form:
       ``w_i = (AAᵀ)⁺a_i / (a_iᵀ(AAᵀ)⁺a_i)``, i.e. the columns of ``(A⁺)ᵀ`` rescaled. It lowers
       the typical ``|w_iᵀa_j|``, and at n = 2m the largest too (0.22 against A's own 0.34 at
       250×500); at stronger undersampling (n = 4m) its largest can exceed A's.

    2. ``steps`` projected-gradient steps from ``W_F`` towards the paper's definition of W,
       the generalised-coherence minimiser ``argmin max_{i≠j} |w_iᵀa_j|`` under the same
       constraint: per column, normalised gradient steps on the smooth
       ``‖(w_iᵀa_j)_{j≠i}‖_p``, with ``p`` rising geometrically from 4 to 64 and the step from
       0.1 to 0.001 (relative to ‖w_i‖), each followed by the projection
       ``w_i ← w_i + (1 − a_iᵀw_i) a_i/‖a_i‖²``; each column
       keeps its best iterate, so μ̃ never exceeds the Frobenius solution's. It lowers μ̃
       about threefold (0.22 -> 0.08 at 250×500 in 100 steps) but raises ‖WᵀA‖, and ALISTA
       trained worse with it in our tests, so the default ``steps=0`` returns the Frobenius
       solution alone, as the repository does.

    Args:
        A: the forward model: a real operator on vectors (a `unrolled.Matrix`) or an (m, n)
            tensor. It must have no zero column.
        steps: refinement steps (each two (n×m)·(m×n) products, in float64).

    Returns ``W`` (m, n) in ``A``'s (real) dtype and on its device, computed in float64.
    """
    non_negative_int(steps, "steps")
    M = _matrix(A)
    dtype = A.dtype if isinstance(A, Tensor) else (A.dtype or torch.get_default_dtype())
    norms2 = M.square().sum(0)  # ‖a_i‖²
    if bool((norms2 == 0).any()):
        zero = int(torch.nonzero(norms2 == 0)[0])
        raise ValueError(f"A: column {zero} is zero; no W can satisfy w_iᵀa_i = 1 there")
    X = torch.linalg.pinv(M).mT  # (AAᵀ)⁺A
    W = X / (X * M).sum(0)
    if steps:
        W = _lower_coherence(M, W, norms2, int(steps))
    return W.to(dtype)


def _lower_coherence(M: Tensor, W: Tensor, norms2: Tensor, steps: int) -> Tensor:
    def off_diagonal(W: Tensor) -> Tensor:  # G[j, i] = a_jᵀw_i for j ≠ i, 0 on the diagonal
        G = M.mT @ W
        return G - torch.diag_embed(torch.diagonal(G))

    def project(W: Tensor) -> Tensor:  # onto {w_iᵀa_i = 1}, column by column
        return W + (1 - (W * M).sum(0)) * M / norms2

    tiny = torch.finfo(M.dtype).tiny
    G = off_diagonal(W)
    best, best_mu = W, G.abs().amax(0)
    for t in range(steps):
        f = t / max(steps - 1, 1)
        p, lr = 4 * 16**f, 0.1 * 0.01**f
        R = G / G.abs().amax(0).clamp_min(tiny)  # scaled per column: |R| ≤ 1, no overflow
        d = M @ (R.sign() * R.abs() ** (p - 1))  # ∝ ∇ of ‖G[:, i]‖_p^p in w_i
        d = d - (d * M).sum(0) * M / norms2  # along the constraint
        step = lr * torch.linalg.vector_norm(W, dim=0) / torch.linalg.vector_norm(d, dim=0)
        W = project(W - step.nan_to_num(0.0, 0.0, 0.0) * d)
        G = off_diagonal(W)
        mu = G.abs().amax(0)
        better = mu < best_mu
        best, best_mu = torch.where(better, W, best), torch.where(better, mu, best_mu)
    return best


class ALISTAIteration(LISTACPIteration):
    """One layer of ALISTA: ``x_{k+1} = η_ss(x_k − γ_k Wᵀ(A x_k − y); θ_k, p_k)``, ``x_0 = 0``.

    ``W`` defaults to `analytic_weight` of the operator; ``η_ss`` is soft thresholding with
    support selection (`LISTACPIteration.shrink`). Defaults ``γ = 1``, ``θ = λ/L``.

    Args:
        m, n: the operator's sizes, ``A: ℝⁿ -> ℝᵐ``.
        lam: λ, setting θ's default λ/L (default 0.4, the ALISTA repository's).
        support: ``(per_layer, maximum)`` of the support selection, or ``None``.
        coherence_steps: refinement steps of `analytic_weight`.

    Shapes: ``y`` (B, m), ``x`` (B, n), ``W`` (m, n), ``gamma`` (), ``theta`` ().
    """

    W = Param(
        Rule(analytic_weight, "analytic_weight(A)"),
        shape=m_by_n,
        doc="W (m, n): the analytic weight",
    )
    gamma = Param(1.0, positive=True, doc="γ: the step size")

    def __init__(
        self,
        m: int,
        n: int,
        *,
        lam: float = ALISTA_LAMBDA,
        support: tuple[float, float] | str | None = AUTO,
        coherence_steps: int = COHERENCE_STEPS,
        **overrides: Any,
    ) -> None:
        non_negative_int(coherence_steps, "coherence_steps")
        weight = Rule(
            lambda A: analytic_weight(A, steps=coherence_steps),
            f"analytic_weight(A, steps={coherence_steps})"
            if coherence_steps
            else "analytic_weight(A)",
        )
        super().__init__(m, n, lam=lam, support=support, **{"W": weight, **overrides})

    def update(self, x: Tensor, y: Tensor, A: Any, p: Layer) -> Tensor:
        return self.shrink(x + p.gamma * ((y - A(x)) @ p.W), p)


#: ALISTA's recipe: `SCALAR_SETTINGS`; the support schedule from the data's sparsity.
RECIPE = Recipe(
    SCALAR_SETTINGS,
    prepare=prepare_sparse,
    derived="support selection from the data's sparsity; the starting threshold at least the "
    "noise's universal threshold",
    notes="2K scalars: layer-wise growth (Borgerding et al.; the ALISTA repository trains "
    "stage-wise) at Adam 1e-2, measured here on the grid of benchmarks/sparse_coding.py; the "
    "loss in dB and patience 300 measured here; support (0.12p, 1.3p) scales the repository's "
    "(1.2 %, 13 %) at p = 0.1.",
)


@register("alista", kind="model", recipe=RECIPE)
def alista(
    *,
    operator: Any = None,
    layers: int = 16,
    lam: float = ALISTA_LAMBDA,
    support: tuple[float, float] | str | None = AUTO,
    coherence_steps: int = COHERENCE_STEPS,
    learn_weight: bool = False,
    backprop: str = "full",
) -> Unrolled:
    """ALISTA, analytic LISTA (Liu, Chen, Wang & Yin 2019): 2K learned scalars.

        v_k     = x_k − γ_k Wᵀ(A x_k − y)
        x_{k+1} = v_k  on S_k,   η_{θ_k}(v_k) elsewhere,     x_0 = 0

    ``W`` (m, n) is computed once, without data, from ``A`` and not learned: `analytic_weight`,
    the ``W`` of least ``‖WᵀA‖_F`` with ``diag(WᵀA) = 1`` (the paper's Frobenius relaxation of
    minimising the generalised coherence ``max_{i≠j} |w_iᵀa_j|``).
    ``S_k``: support selection as in LISTA-CPSS, the ``round(p_k·n)`` largest ``|v_k|`` above
    θ_k per sample, ``p_k = min(1.2 %·k, 13 %)`` (``support``). Learned, per layer: the step
    ``γ_k`` (init 1) and threshold ``θ_k`` (init λ/L), both > 0 (softplus).

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ``.
        layers: K, the depth.
        lam: λ, setting θ's initial value λ/L (default 0.4 as in the ALISTA repository).
        support: ``(per_layer, maximum)`` of the support selection, ``None`` for plain soft
            thresholding, or ``"auto"`` (default): the repository's (0.012, 0.13) until `fit`
            derives the schedule from the training data's sparsity p, ``(0.12·p, 1.3·p)``.
        coherence_steps: refinement steps of `analytic_weight` towards the least generalised
            coherence (default 0: the Frobenius solution, as in the repository).
        learn_weight: also learn ``W``, one matrix shared by all layers (TiLISTA, Liu et al.),
            starting from the analytic weight.
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns an `unrolled.Unrolled` with params ``gamma`` (K,), ``theta`` (K,) and ``W``
    (m, n): W is stored as a tied parameter with ``requires_grad=False`` (unless
    ``learn_weight``) so that it moves with the network, is saved in its state dict and is
    never recomputed per forward. ``y`` (B, m) -> ``x`` (B, n). The untrained network is not
    ISTA: W differs from A/L and the support selection skips the threshold.

    Departures from the paper: W is the Frobenius solution in closed form rather than by
    projected gradient (the same minimiser); S_k is exactly ``round(p_k·n)`` entries
    (`torch.topk`) rather than a percentile; γ and θ are kept positive (softplus); θ starts at
    λ/L rather than λ/(1.001·L).
    """
    if not isinstance(learn_weight, bool):
        raise TypeError(f"learn_weight: expected a bool, got {type(learn_weight).__name__}")
    m, n = operator_sizes(operator, "alista")
    net = unroll(
        ALISTAIteration(m, n, lam=lam, support=support, coherence_steps=coherence_steps),
        layers,
        learn=["W", "gamma", "theta"],
        tied=["W"],
        operator=operator,
        backprop=backprop,
    )
    net.params["W"].requires_grad_(learn_weight)
    return net


__all__ = ["ALISTAIteration", "alista", "analytic_weight", "generalized_coherence"]
