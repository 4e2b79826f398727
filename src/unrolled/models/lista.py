"""LISTA and its coupled-weight descendants: LISTA, LISTA-CP, LISTA-CPSS, StepLISTA.

Each model is an iteration (an `Algorithm` declaring its learned matrices as `Param`s whose
defaults are rules of the operator) unrolled by a registered factory.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..algorithms import ISTA
from ..core import Algorithm, Layer, Param, Recipe, Rule, Unrolled, register, unroll
from ..core.checks import positive_int
from ..priors import soft_threshold, soft_threshold_support
from ._common import (
    AUTO,
    SCALAR_SETTINGS,
    SUPPORT,
    check_support,
    dense,
    m_by_n,
    matrix_lr,
    n_by_m,
    operator_sizes,
    over_lipschitz,
    positive_number,
    prepare_sparse,
    support_fraction,
)

#: ISTA's default ℓ1 weight λ (its ``threshold``); the LISTA family starts its thresholds at λ/L.
LAMBDA = ISTA.param_specs["threshold"].default


def _ista_input_map(A: Any) -> Tensor:
    return dense(A).mT / A.lipschitz()


def _zeros_n_by_n(A: Any) -> Tensor:
    n = int(A.in_shape[0])
    return torch.zeros(n, n, dtype=torch.float64, device=A.device)


class LISTAIteration(Algorithm):
    """One layer of LISTA: ``x_{k+1} = η_{θ_k}(W1_k y + W2_k x_k)``, ``x_0 = 0``, η the soft
    threshold, with the state map stored as its departure ``D_k`` from the coupling:

        W2_k = I − W1_k A + D_k,   so   x_{k+1} = η_{θ_k}(x_k + W1_k (y − A x_k) + D_k x_k)

    Any ``(W1, W2)`` is some ``(W1, D)``: the network is LISTA's, only its coordinates differ.
    ``D = 0`` is the coupling ``W2 = I − W1 A`` that Chen et al. (2018, Thm. 1) prove necessary
    for convergence, so training starts on it and a step on ``W1`` moves ``W2`` with it; in
    LISTA's own coordinates an Adam step perturbs W2's n² entries independently of W1 and
    breaks the coupling (measured at 250×500: -12.8 dB after 120 s against -42.5 dB here).

    Defaults ``W1 = Aᵀ/L``, ``D = 0``, ``θ = λ/L`` (L = ‖A‖²) make it one ISTA step.

    Args:
        m, n: the operator's sizes, ``A: ℝⁿ -> ℝᵐ``.
        lam: λ, the ℓ1 weight whose ISTA step sets θ's default.

    Shapes: ``y`` (B, m), ``x`` (B, n), ``W1`` (n, m), ``D`` (n, n), ``theta`` ().
    """

    W1 = Param(Rule(_ista_input_map, "Aᵀ/L"), shape=n_by_m, doc="W1 (n, m): the input map")
    D = Param(
        Rule(_zeros_n_by_n, "0"),
        shape=lambda A: (*A.in_shape, *A.in_shape),
        doc="D (n, n): the state map's departure from I − W1 A",
    )
    theta = Param(over_lipschitz(LAMBDA), positive=True, doc="θ: the soft threshold")

    def __init__(self, m: int, n: int, *, lam: float = LAMBDA, **overrides: Any) -> None:
        self.m, self.n = positive_int(m, "m"), positive_int(n, "n")
        defaults = {"theta": over_lipschitz(positive_number(lam, "lam"))}
        super().__init__(**{**defaults, **overrides})
        self.params["W1"] = self.params["W1"].with_shape((n, m))
        self.params["D"] = self.params["D"].with_shape((n, n))

    def init(self, y: Tensor, A: Any) -> Tensor:
        return y.new_zeros(y.shape[0], self.n)

    def update(self, x: Tensor, y: Tensor, A: Any, p: Layer) -> Tensor:
        return soft_threshold(x + (y - A(x)) @ p.W1.mT + x @ p.D.mT, p.theta)

    def state_map(self, W1: Tensor, D: Tensor, A: Any) -> Tensor:
        """LISTA's ``W2 = I − W1 A + D`` (n, n) of one layer's ``W1`` (n, m) and ``D`` (n, n)."""
        eye = torch.eye(self.n, dtype=W1.dtype, device=W1.device)
        return eye - W1 @ dense(A).to(W1.dtype) + D

    def output(self, state: Tensor) -> Tensor:
        return state


class LISTACPIteration(Algorithm):
    """One layer of LISTA-CP (coupled weights), with optional support selection (CPSS):

        x_{k+1} = η_{θ_k}(x_k + W_kᵀ(y − A x_k)),     x_0 = 0

    ``η`` is the soft threshold, or with ``support=(per_layer, maximum)`` the soft threshold
    that lets the ``p_k = min(per_layer·k, maximum)`` (k = 1, 2, … the layer) largest-magnitude
    entries of each sample through (`unrolled.priors.soft_threshold_support`). Defaults
    ``W = A/L``, ``θ = λ/L`` make it one ISTA step (without support selection).

    Args:
        m, n: the operator's sizes, ``A: ℝⁿ -> ℝᵐ``.
        lam: λ, the ℓ1 weight whose ISTA step sets θ's default.
        support: ``None``, or ``(per_layer, maximum)``: fractions of the n entries, or
            ``"auto"``: `SUPPORT` until a recipe's ``prepare`` sets the schedule of the
            training data's sparsity (`unrolled.models._common.prepare_support`).

    Shapes: ``y`` (B, m), ``x`` (B, n), ``W`` (m, n), ``theta`` ().
    """

    W = Param(
        Rule(lambda A: dense(A) / A.lipschitz(), "A/L"),
        shape=m_by_n,
        doc="W (m, n): the coupled weight",
    )
    theta = Param(over_lipschitz(LAMBDA), positive=True, doc="θ: the soft threshold")

    def __init__(
        self,
        m: int,
        n: int,
        *,
        lam: float = LAMBDA,
        support: tuple[float, float] | str | None = None,
        **overrides: Any,
    ) -> None:
        self.m, self.n = positive_int(m, "m"), positive_int(n, "n")
        self.support_auto = support == AUTO
        self.support = SUPPORT if self.support_auto else check_support(support)
        defaults = {"theta": over_lipschitz(positive_number(lam, "lam"))}
        super().__init__(**{**defaults, **overrides})
        self.params["W"] = self.params["W"].with_shape((m, n))

    def init(self, y: Tensor, A: Any) -> Tensor:
        return y.new_zeros(y.shape[0], self.n)

    def update(self, x: Tensor, y: Tensor, A: Any, p: Layer) -> Tensor:
        return self.shrink(x + (y - A(x)) @ p.W, p)

    def output(self, state: Tensor) -> Tensor:
        return state

    def shrink(self, v: Tensor, p: Layer) -> Tensor:
        """``η_{θ_k}(v)``: soft thresholding, with this layer's support selection if any."""
        if self.support is None:
            return soft_threshold(v, p.theta)
        return soft_threshold_support(v, p.theta, support_fraction(p.layer, *self.support))

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.support is None:
            return text
        name = type(self).__name__
        parts = [text[len(name) + 1 : -1], f"support={self.support}"]
        return f"{name}({', '.join(p for p in parts if p)})"


#: The settings LISTA-CP's and LISTA-CPSS's recipe share with LISTA's.
COUPLED_SETTINGS: dict[str, Any] = {
    "schedule": "deep-supervision",
    "batch_size": 64,
    "loss": "nmse_db",
    "lr_schedule": "cosine",
    "patience": None,
}
#: LISTA-CP's and LISTA-CPSS's recipe: every layer's loss at once (deep supervision) rather
#: than the repository's stage-wise growth, which measured here reaches -8 dB in 150 s against
#: -43 dB in 40 s; the loss in dB; the whole budget spent with the rate annealed (cosine): one
#: stage that early stopping ends on the first plateau wastes the rest (LISTA-CPSS at 100×200:
#: -42 dB stopped after 14 s of 150 with patience 300, -70 dB with the budget spent); the rate
#: from the size (`matrix_lr`, 3e-3 at 250×500, measured here).
COUPLED_RECIPE = Recipe(
    COUPLED_SETTINGS,
    derive=matrix_lr(3e-3),
    prepare=prepare_sparse,
    derived="lr 3e-3·√(250/m)·c, m measurements, c < 1 for a dictionary more coherent than a Gaussian one; support from the data's "
    "sparsity; the starting threshold at least the noise's universal threshold",
    notes="deep supervision, dB loss and 3e-3 at 250×500 measured here; the rate's scaling "
    "with the size is matrix_lr's; cosine annealing over the budget measured on the grid of "
    "benchmarks/sparse_coding.py; the support as ALISTA's.",
)
#: LISTA's recipe (6 M weights at 250×500): LISTA-CP's, ``D`` at a 30th of the rate. With its
#: state map stored as the departure ``D`` from the coupling (`LISTAIteration`) it trains like
#: LISTA-CP and then uses its extra freedom. Measured at 250×500 over 120 s (deep supervision,
#: W1 and θ at 3e-3): D at 1e-4 -42.5 dB, at 3e-4 -40.4, at 3e-5 -40.5, at 3e-3 -22.3, frozen
#: (LISTA-CP) -38.2; LISTA's own coordinates (W1, W2) at 1e-4 -12.8 (the repository's recipe,
#: stage-wise at 5e-4, needs some 10⁵ steps).
LISTA_RECIPE = Recipe(
    {
        **COUPLED_SETTINGS,
        "lr_factors": {"D": 0.03},
    },
    derive=matrix_lr(3e-3),
    prepare=prepare_sparse,
    derived="lr 3e-3·√(250/m)·c, m measurements, c < 1 for a dictionary more coherent than a Gaussian one; the starting threshold at "
    "least the noise's universal threshold",
    notes="as LISTA-CP's, in coupled coordinates; D's factor 0.03 measured here at 250×500 "
    "(0.01 to 0.1 within 2 dB, 1 fails).",
)
#: StepLISTA's recipe: that of the other scalar model, ALISTA (`SCALAR_SETTINGS`).
STEP_RECIPE = Recipe(SCALAR_SETTINGS, notes="K step sizes: as ALISTA's scalars (measured here).")


@register("lista", kind="model", recipe=LISTA_RECIPE)
def lista(
    *, operator: Any = None, layers: int = 16, lam: float = LAMBDA, backprop: str = "full"
) -> Unrolled:
    """LISTA, learned ISTA (Gregor & LeCun 2010), with per-layer matrices and thresholds.

        x_{k+1} = η_{θ_k}(W1_k y + W2_k x_k),     x_0 = 0,   η_θ(v) = sign(v)·max(|v| − θ, 0)

    Learned, per layer: ``W1_k`` (n, m), ``W2_k`` (n, n) stored as ``D_k = W2_k − (I − W1_k A)``
    (see `LISTAIteration`), ``θ_k`` (> 0, through softplus). Initialised at ``W1 = Aᵀ/L``,
    ``D = 0`` (``W2 = I − AᵀA/L``), ``θ = λ/L`` (L = ‖A‖²), so that before training the
    network computes exactly ``layers`` iterations of ISTA with ℓ1 weight λ.

    What made it train (``LISTA_RECIPE``): in its own coordinates, each Adam step moves W2's
    n² entries independently of W1 and breaks the coupling ``W2 = I − W1 A`` that convergence
    needs (Chen et al. 2018, Thm. 1); it stalled at -20.5 dB after 15 minutes at 250×500. The
    coupled coordinates keep it, and ``D`` learns at a 30th of W1's rate.

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ`` (a `unrolled.Matrix`, or any operator on
            vectors, applied to the identity once to initialise the matrices).
        layers: K, the depth.
        lam: λ, ISTA's ℓ1 weight (its ``threshold``, default 0.1) setting θ's initial value.
        backprop: ``"full"`` or ``"checkpoint"`` (see `unrolled.unroll`).

    Returns an `unrolled.Unrolled` with params ``W1`` (K, n, m), ``D`` (K, n, n),
    ``theta`` (K,) (``net.algorithm.state_map(W1[k], D[k], A)`` is layer k's W2); call ``net(y)`` with ``y`` (B, m) for ``x`` (B, n).

    Departures from the paper: Gregor & LeCun tie ``W1``, ``W2`` and θ across layers (one
    recurrent LISTA block) and use one threshold per entry; here they are untied per layer and
    θ is one scalar per layer, as in the LISTA baselines of Chen et al. (2018) and Liu et al.
    (2019); θ is kept positive (softplus).
    """
    m, n = operator_sizes(operator, "lista")
    return unroll(
        LISTAIteration(m, n, lam=lam),
        layers,
        learn=["W1", "D", "theta"],
        operator=operator,
        backprop=backprop,
    )


@register("lista-cp", kind="model", recipe=COUPLED_RECIPE)
def lista_cp(
    *, operator: Any = None, layers: int = 16, lam: float = LAMBDA, backprop: str = "full"
) -> Unrolled:
    """LISTA-CP, LISTA with coupled weights (Chen, Liu, Wang & Yin 2018).

        x_{k+1} = η_{θ_k}(x_k + W_kᵀ(y − A x_k)),     x_0 = 0

    The coupling ``W2_k = I − W_kᵀA`` (necessary for convergence, Chen et al. Thm. 1) leaves
    one matrix per layer. Learned, per layer: ``W_k`` (m, n), ``θ_k`` (> 0, softplus).
    Initialised at ``W = A/L``, ``θ = λ/L``: before training it equals ISTA with ℓ1 weight λ.

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ``.
        layers: K, the depth.
        lam: λ, the ℓ1 weight setting θ's initial value (default ISTA's 0.1).
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns an `unrolled.Unrolled` with params ``W`` (K, m, n) and ``theta`` (K,); ``y``
    (B, m) -> ``x`` (B, n).

    Departures from the paper: the LISTA-CPSS repository initialises θ with λ = 0.4 and
    ``W = A/(1.001·L)``; here λ defaults to ISTA's 0.1 so that the untrained network is ISTA.
    θ is kept positive (softplus).
    """
    m, n = operator_sizes(operator, "lista-cp")
    return unroll(
        LISTACPIteration(m, n, lam=lam),
        layers,
        learn=["W", "theta"],
        operator=operator,
        backprop=backprop,
    )


@register("lista-cpss", kind="model", recipe=COUPLED_RECIPE)
def lista_cpss(
    *,
    operator: Any = None,
    layers: int = 16,
    lam: float = LAMBDA,
    support: tuple[float, float] | str = AUTO,
    backprop: str = "full",
) -> Unrolled:
    """LISTA-CPSS, LISTA-CP with support selection (Chen, Liu, Wang & Yin 2018).

        v_k     = x_k + W_kᵀ(y − A x_k)
        x_{k+1} = v_k  on S_k,   η_{θ_k}(v_k) elsewhere,     x_0 = 0

    where ``S_k`` holds, per sample, the ``round(p_k·n)`` largest entries of ``|v_k|`` that
    exceed θ_k, ``p_k = min(1.2 %·k, 13 %)`` at layer k = 1, 2, … (``support``). Trusted to be
    in the support, they skip the shrinkage and its bias. Learned, per layer: ``W_k`` (m, n)
    and ``θ_k`` (> 0, softplus), initialised at ``A/L`` and ``λ/L``.

    Args:
        operator: ``A``, a real operator ``ℝⁿ -> ℝᵐ``.
        layers: K, the depth.
        lam: λ, setting θ's initial value λ/L (default ISTA's 0.1).
        support: ``(per_layer, maximum)``, the growth and cap of p_k, or ``"auto"`` (default):
            the repository's (0.012, 0.13) until `fit` derives the schedule from the training
            data's sparsity p, ``(0.12·p, 1.3·p)``.
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns an `unrolled.Unrolled` with params ``W`` (K, m, n), ``theta`` (K,); ``y`` (B, m) ->
    ``x`` (B, n). With support selection the untrained network is *not* ISTA (the selected
    entries skip the threshold); ``support=(0, 0)`` makes it LISTA-CP.

    Departures from the paper: the repository picks S_k with a percentile (``|v| >`` the
    (100 − p_k)-th percentile per sample) and initialises θ with λ = 0.4; here S_k is exactly
    ``round(p_k·n)`` entries (`torch.topk`) and λ defaults to 0.1. θ is kept positive.
    """
    m, n = operator_sizes(operator, "lista-cpss")
    return unroll(
        LISTACPIteration(m, n, lam=lam, support=support),
        layers,
        learn=["W", "theta"],
        operator=operator,
        backprop=backprop,
    )


@register("steplista", kind="model", recipe=STEP_RECIPE)
def step_lista(
    *, operator: Any = None, layers: int = 16, lam: float = LAMBDA, backprop: str = "full"
) -> Unrolled:
    """StepLISTA: ISTA with a learned step size per layer (Ablin, Moreau, Massias & Gramfort 2019).

        x_{k+1} = η_{α_k λ}(x_k − α_k Aᵀ(A x_k − y)),     x_0 = 0

    Only the K step sizes ``α_k`` (> 0, softplus) are learned, initialised at 1/L: before
    training the network is ISTA with ℓ1 weight λ. The threshold stays tied to the step
    (α_k λ), so each layer is a proximal-gradient step on the same Lasso; trained steps grow
    beyond 1/L, towards one over the Lipschitz constant on the iterates' support (Ablin et al.).

    Args:
        operator: ``A``, the forward model (any `unrolled.ops.LinearOperator`; complex works).
        layers: K, the depth.
        lam: λ, the Lasso's ℓ1 weight (ISTA's ``threshold``, default 0.1).
        backprop: ``"full"`` or ``"checkpoint"``.

    Returns ``unroll(ISTA(threshold=λ), K, learn=["step"])``: param ``step`` (K,).

    Departures from the paper: Ablin et al. train on the Lasso objective (unsupervised) and
    name the model SLISTA; training it on the recovery error, as `unrolled.train` does, is the
    supervised variant.
    """
    return unroll(
        ISTA(threshold=positive_number(lam, "lam")),
        layers,
        learn=["step"],
        operator=operator,
        backprop=backprop,
    )


__all__ = [
    "LISTACPIteration",
    "LISTAIteration",
    "lista",
    "lista_cp",
    "lista_cpss",
    "step_lista",
]
