"""What the sparse-coding models share: the operator as a dense matrix and its sizes, readable
rules, and the support-selection schedule of LISTA-CPSS and ALISTA."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..core import Recipe, Rule
from ..core.checks import check_operator
from ..ops import as_dense


def over_lipschitz(lam: float) -> Rule:
    """The rule ``λ/L`` with ``L = ‖A‖²``: ISTA's shrinkage for the ℓ1 weight λ at step 1/L."""
    return Rule(lambda A: lam / A.lipschitz(), f"{lam:g}/L")


def positive_number(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 < value < float("inf")
    ):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def probability(value: Any, name: str) -> float:
    """``value`` as a float in the open interval (0, 1), or a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name}: expected a number in (0, 1), got {value!r}")
    return float(value)


def operator_sizes(operator: Any, model: str) -> tuple[int, int]:
    """``(m, n)`` of a real forward model ``A: ℝⁿ -> ℝᵐ`` shared by all samples; clear errors
    otherwise (the LISTA family learns dense matrices sized and initialised from ``A``)."""
    if operator is None:
        raise ValueError(
            f"operator: {model} sizes and initialises its matrices from the forward model; "
            f"pass operator=A (e.g. unrolled.Matrix(M))"
        )
    check_operator(operator, "operator")
    in_shape, out_shape = operator.in_shape, operator.out_shape
    if in_shape is None or out_shape is None or len(in_shape) != 1 or len(out_shape) != 1:
        raise ValueError(
            f"operator: {model} needs vectors in and out (in_shape (n,), out_shape (m,)), got "
            f"in_shape {in_shape} and out_shape {out_shape}"
        )
    if operator.batch_size is not None:
        raise ValueError(
            f"operator: {model} needs one operator for every sample, got a per-sample operator "
            f"(batch_size {operator.batch_size})"
        )
    if operator.dtype is not None and operator.dtype.is_complex:
        raise TypeError(
            f"operator: {model} is real-valued, got a complex operator ({operator.dtype})"
        )
    return int(out_shape[0]), int(in_shape[0])


def m_by_n(A: Any) -> tuple[int, ...]:
    """``(m, n)``: the shape of a matrix like ``A: ℝⁿ -> ℝᵐ`` (a `Param` shape sized by the
    operator; an iteration built for known sizes fixes it with `unrolled.Param.with_shape`)."""
    return (*A.out_shape, *A.in_shape)


def n_by_m(A: Any) -> tuple[int, ...]:
    """``(n, m)``: the shape of a matrix like ``Aᵀ`` (as `m_by_n`)."""
    return (*A.in_shape, *A.out_shape)


def dense(A: Any) -> Tensor:
    """``A`` as an ``(m, n)`` float64 matrix (`unrolled.ops.as_dense`), once its sizes are
    checked. Rules build on it in float64; `Param.resolve` casts to ``A``'s dtype."""
    operator_sizes(A, "dense")
    return as_dense(A)


#: Support selection as in the LISTA-CPSS and ALISTA repositories: 1.2 % more entries of each
#: sample per layer pass un-thresholded, at most 13 %.
SUPPORT = (0.012, 0.13)
#: ``support="auto"``: the schedule is derived from the training data's sparsity when `fit`
#: prepares the model (`support_for_sparsity`); `SUPPORT` until then.
AUTO = "auto"


def support_for_sparsity(sparsity: float) -> tuple[float, float]:
    """The support-selection schedule for signals with a fraction ``sparsity`` of non-zeros:
    ``(0.12·p, 1.3·p)`` (capped at 1), the LISTA-CPSS repository's ``(1.2 %, 13 %)`` at its
    p = 0.1 scaled with p: the cap keeps 30 % more entries than the expected support, reached
    after about 11 layers whatever p is."""
    p = float(sparsity)
    return min(0.12 * p, 1.0), min(1.3 * p, 1.0)


def sparsity_of(problem: Any) -> float:
    """The fraction of non-zero entries of the problem's signals: ``problem.sparsity`` where the
    problem states it (`unrolled.data.SparseCoding`), else measured on its validation signals
    (entries above 10⁻³ of their sample's largest magnitude). Deterministic: the training stream
    is not drawn from."""
    stated = getattr(problem, "sparsity", None)
    if isinstance(stated, numbers.Real) and not isinstance(stated, bool) and 0 < stated <= 1:
        return float(stated)
    x = problem.validation[0].detach()
    mag = x.abs().flatten(1)
    peak = mag.amax(1, keepdim=True)
    nonzero = (mag > 1e-3 * peak) & (peak > 0)
    fraction = float(nonzero.double().mean())
    if not 0 < fraction <= 1:
        raise ValueError(
            f"problem: cannot derive a support schedule, its validation signals are all zero "
            f"(x of shape {tuple(x.shape)})"
        )
    return fraction


def prepare_support(model: Any, problem: Any) -> None:
    """Part of a recipe's ``prepare``: a model built with ``support="auto"`` gets the support
    schedule of the problem's sparsity (`support_for_sparsity` of `sparsity_of`)."""
    algorithm = getattr(model, "algorithm", None)
    if getattr(algorithm, "support_auto", False):
        algorithm.support = support_for_sparsity(sparsity_of(problem))


def noise_std_of(problem: Any, operator: Any) -> float:
    """The noise standard deviation per measurement: ``problem.noise_std`` where the problem
    states it (`unrolled.data.SparseCoding`), else the root mean square of ``y − A x`` over its
    validation samples (deterministic)."""
    stated = getattr(problem, "noise_std", None)
    if isinstance(stated, numbers.Real) and not isinstance(stated, bool) and stated >= 0:
        return float(stated)
    x, y = problem.validation[:2]
    with torch.no_grad():
        residual = (y - operator(x.to(y.dtype))).double()
    return float(residual.square().mean().sqrt())


def prepare_threshold(model: Any, problem: Any) -> None:
    """Part of a recipe's ``prepare``: an untrained threshold θ starts at least at the universal
    threshold of the problem's noise, ``σ·√(2 log n)/L`` (Donoho & Johnstone's λ = σ√(2 log n)
    for unit-norm columns, at ISTA's step 1/L, L = ‖A‖²), so that heavy noise does not start
    the network below its noise level; noiseless or mildly noisy problems keep the model's own
    start (λ/L). A trained or loaded θ is left alone."""
    params = getattr(model, "params", {})
    operator = getattr(model, "operator", None)
    if "theta" not in params or operator is None or not model.is_untrained("theta"):
        return
    sigma = noise_std_of(problem, operator)
    if sigma <= 0:
        return
    n = int(operator.in_shape[0])
    universal = sigma * math.sqrt(2 * math.log(max(n, 2))) / float(operator.lipschitz())
    theta = model.param_values()["theta"].detach().double().cpu()
    if bool((theta < universal).any()):
        model.set_initial("theta", theta.clamp_min(universal))


def prepare_sparse(model: Any, problem: Any) -> None:
    """The LISTA family's recipe ``prepare``: the support schedule from the data's sparsity
    (`prepare_support`) and the starting threshold from its noise level (`prepare_threshold`)."""
    prepare_support(model, problem)
    prepare_threshold(model, problem)


#: The recipe of the LISTA family's scalar models (ALISTA, StepLISTA: a step and a threshold
#: per layer): grow one layer at a time, then refine (Borgerding et al. 2017), at Adam 1e-2 (a
#: few scalars train well at a large rate; measured here), on the NMSE in dB (its gradient
#: keeps its scale as the error falls by orders of magnitude); a stage ends after 300 steps
#: without a 0.01 dB gain (the repositories wait 2000–4000: too long for minutes of training).
#: Each new layer starts from the previous layer's trained step and threshold (``warm_start``):
#: a deep layer's threshold ends orders of magnitude below its λ/L start, and Adam moves the
#: softplus-parametrised threshold about one e-fold per 100 steps at this rate. Measured at
#: 500×1000 in 150 s: -40.0 dB from λ/L, -57.3 dB warm-started.
SCALAR_SETTINGS: dict[str, Any] = {
    "schedule": "layerwise",
    "lr": 1e-2,
    "batch_size": 64,
    "loss": "nmse_db",
    "patience": 300,
    "warm_start": True,
}


def annealed_recipe(
    *,
    loss: str,
    lr: float,
    batch_size: int,
    notes: str,
    clip: float | None = None,
    restore_best: bool = True,
) -> Recipe:
    """A recipe (`unrolled.Recipe`) that trains every layer together on the last layer's
    output (end to end) for the whole budget, Adam's rate annealed by a cosine and no early
    stopping (without a budget: a constant rate and the library's patience): what the imaging,
    MIMO and recommendation models use, with their own loss, rate, batch and, where the
    authors clip the global gradient norm, ``clip``. ``restore_best=False`` keeps the annealed
    run's last weights instead of its best validated ones (for a validation score noisier than
    what training changes)."""
    settings = {"schedule": "end-to-end", "loss": loss, "lr": lr, "lr_schedule": "cosine"}
    if clip is not None:
        settings["clip"] = clip
    if not restore_best:
        settings["restore_best"] = False
    return Recipe({**settings, "batch_size": batch_size, "patience": None}, notes=notes)


#: Measurements (rows of A) at which a matrix model's reference rate was measured: the
#: standard 250×500 problem.
REFERENCE_ROWS = 250


def matrix_lr(reference: float) -> Callable[[Any, Any], dict[str, float]]:
    """A recipe's ``derive`` for the matrix models initialised from ``A`` (LISTA, LISTA-CP/CPSS,
    LAMP): Adam's rate ``reference·√(250/m)·c``, m the operator's rows, ``reference`` the rate
    measured at 250×500. Their matrices start at ``A/L`` (or ``Aᵀ/L``, L = ‖A‖²), whose entries
    are about ``‖A‖_F/(√(mn)·L)``, and Adam moves every entry by about the rate each step; the
    rate follows the entries' size so that a step changes them by the same fraction on every
    problem. For Gaussian matrices with unit-norm columns ``‖A‖_F = √n`` and L ≈ (1 + √(n/m))²,
    which depends only on n/m: ``1/√m`` is the whole rule there (c = 1). Measured on LISTA-CPSS
    at 500×1000, 30 dB, 150 s: -33.4 dB at this rate (2.1e-3), -27.6 dB at 1.5e-3 (scaled with
    the square root of the entry count instead). A coherent dictionary has a far larger L for
    its shape (`unrolled.data.SparseCoding`'s ``"correlated"`` 20×100: 76 against 10.5), so far
    smaller entries, which the Gaussian rate moved seven times too fast (LISTA-CPSS's loss
    overflowed there): ``c = min(1, ‖A‖_F (1 + √(n/m))² / (√n·L))`` scales it down, and leaves
    Gaussian matrices (c ≥ 0.998 on the benchmarks' problems) as they were. Capped to
    [1e-5, 1e-2]."""

    def derive(model: Any, problem: Any) -> dict[str, float]:
        m, n = operator_sizes(model.operator, "matrix_lr")
        lr = reference * math.sqrt(REFERENCE_ROWS / m) * _coherence_factor(model.operator, m, n)
        return {"lr": float(min(max(lr, 1e-5), 1e-2))}

    return derive


def _coherence_factor(operator: Any, m: int, n: int) -> float:
    """``min(1, ‖A‖_F (1 + √(n/m))² / (√n·L))``: `matrix_lr`'s ``c``."""
    A = dense(operator)
    L = float(torch.linalg.matrix_norm(A, ord=2)) ** 2
    if L == 0:
        return 1.0
    return min(
        1.0, float(torch.linalg.matrix_norm(A)) * (1 + math.sqrt(n / m)) ** 2 / (math.sqrt(n) * L)
    )


def check_support(support: Any) -> tuple[float, float] | None:
    """``None`` or a pair ``(per_layer, maximum)`` of fractions in [0, 1]."""
    if support is None:
        return None
    if (
        not isinstance(support, tuple | list)
        or len(support) != 2
        or not all(
            isinstance(s, numbers.Real) and not isinstance(s, bool) and 0 <= s <= 1 for s in support
        )
    ):
        raise ValueError(
            f"support: expected None, {AUTO!r} or a pair (per_layer, maximum) of fractions in "
            f"[0, 1], got {support!r}"
        )
    return float(support[0]), float(support[1])


def support_fraction(layer: int, per_layer: float, maximum: float) -> float:
    """The fraction selected at 0-based ``layer``: ``min(per_layer·(layer + 1), maximum)``."""
    return min(per_layer * (layer + 1), maximum)
