"""MLEM and OSEM: expectation-maximisation for Poisson data (emission tomography)."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Algorithm, Layer, Param, Slot, register
from ..core.checks import non_negative_number, positive_int


class MLEMState(NamedTuple):
    x: Tensor  # (B, *in_shape) the estimate, ≥ 0
    sens: Tensor  # (S, B or 1, *in_shape) the sensitivity Aᵀw_s of each subset s
    masks: Tensor | None  # (S, *out_shape) 0/1 weights w_s of the subsets; None: one subset


def uniform_start(y: Tensor, A: Any) -> Tensor:
    """``x_0 = 1`` ``(B, *A.in_shape)``: the textbook start of MLEM (any positive image would
    do; a zero pixel stays zero)."""
    return torch.ones_like(A.H(y))


def expected_counts(x: Tensor, y: Tensor, A: Any, weights: Tensor | None) -> Tensor:
    """The E-step: the expected counts emitted from each pixel given the data,

        n = x · Aᵀ(w · y / (A x + b))

    with ``b`` the background (``A.background`` where the operator carries one, else 0) and
    ``w`` the subset's 0/1 weights (``None``: every measurement). A bin whose expected count
    ``A x + b`` is 0 contributes nothing (its ratio is taken as 0, not 0/0). Shapes: ``x``
    (B, *in_shape), ``y`` (B, *out_shape), ``weights`` broadcasting to ``y``."""
    mean = A(x)
    background = getattr(A, "background", None)
    if background is not None:
        mean = mean + background
    ratio = y / mean.clamp_min(torch.finfo(mean.dtype).tiny)
    if weights is not None:
        ratio = ratio * weights
    return x * A.H(ratio)


def ml_step(counts: Tensor, sens: Tensor, x: Tensor) -> Tensor:
    """The M-step of maximum likelihood: ``x_new = n / s``; a pixel no measurement of the subset
    sees (``s = 0``, so ``n = 0``) keeps its value. Shapes: ``counts``, ``x`` (B, *in_shape),
    ``sens`` broadcasting to them."""
    seen = sens > 0
    return torch.where(seen, counts / torch.where(seen, sens, 1), x)


def log_quadratic_argmax(n: Tensor, b: Tensor, a: Tensor | float) -> Tensor:
    """The ``x > 0`` maximising ``n log x − b x − (a/2) x²`` (``n ≥ 0``, ``a ≥ 0``, and ``a > 0``
    where ``b ≤ 0``), elementwise: the positive root of ``a x² + b x − n = 0``,

        x = 2n / (b + √(b² + 4an))   where b > 0,     (√(b² + 4an) − b) / (2a)   elsewhere,

    each form where it does not cancel. The M-step of MAP-EM with a separable quadratic
    surrogate (`QuadraticMAP`; FBSEM-Net's fusion, `unrolled.models.em_net`). Shapes broadcast."""
    root = torch.sqrt(b.square() + 4 * a * n)
    positive = b > 0
    stable = 2 * n / torch.where(positive, b + root, 1)
    direct = (root - b) / torch.where(positive, 1, 2 * a)
    return torch.where(positive, stable, direct)


class QuadraticMAP:
    """The M-step of MAP-EM with a quadratic smoothness prior, ``β/2 Σ_(j,k) (x_j − x_k)²`` over
    the pairs of neighbouring pixels (4-neighbours of an image's last two axes; the 2 along a
    vector), by De Pierro's separable surrogate (De Pierro 1995), positive by construction:

        x_j = 2 n_j / (d_j + √(d_j² + 8 β N_j n_j)),   d_j = s_j − β (N_j x_j + Σ_k x_k)

    with ``N_j`` the pixel's neighbours in the image and ``x`` the current estimate (for
    ``d_j < 0``, the same root as ``(√(d_j² + 8 β N_j n_j) − d_j) / (4 β N_j)``). ``β = 0`` is
    `ml_step`. Each step does not decrease the penalised likelihood.

    Args:
        beta: β ≥ 0, the prior's weight (in the units of the counts: it scales with the dose).
    """

    def __init__(self, beta: float) -> None:
        self.beta = non_negative_number(beta, "beta")

    def __call__(self, counts: Tensor, sens: Tensor, x: Tensor) -> Tensor:
        if self.beta == 0:
            return ml_step(counts, sens, x)
        total, neighbours = _neighbour_sums(x)
        d = sens - self.beta * (neighbours * x + total)
        return log_quadratic_argmax(counts, d, 2 * self.beta * neighbours)

    def __repr__(self) -> str:
        return f"QuadraticMAP(beta={self.beta:g})"


def _neighbour_sums(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(Σ_k x_k, N)`` over each pixel's neighbours inside the image (4 on an image's last two
    axes, 2 along a vector's), shaped like ``x``."""
    axes = (-2, -1) if x.ndim >= 3 else (-1,)
    total = torch.zeros_like(x)
    count = torch.zeros_like(x)
    ones = torch.ones_like(x)
    for axis in axes:
        n = x.shape[axis]
        for lo, hi in ((slice(1, n), slice(0, n - 1)), (slice(0, n - 1), slice(1, n))):
            dst = [slice(None)] * x.ndim
            src = [slice(None)] * x.ndim
            dst[axis], src[axis] = lo, hi
            total[tuple(dst)] += x[tuple(src)]
            count[tuple(dst)] += ones[tuple(src)]
    return total, count


@register("mlem")
class MLEM(Algorithm):
    """Maximum-likelihood expectation-maximisation for counts ``y ~ Poisson(A x + b)`` with
    ``A ≥ 0`` (Shepp & Vardi 1982; Lange & Carson 1984), and its ordered-subsets form OSEM
    (Hudson & Larkin 1994) when ``subsets > 1``:

        n_t     = x_t · Aᵀ(w_s · y / (A x_t + b))      (E-step: expected counts per pixel)
        x̂_t     = n_t / Aᵀw_s                           (M-step)
        x_{t+1} = x_t · (x̂_t / x_t)^h                   (h = 1: x_{t+1} = x̂_t)
        x_0     = start(y, A) = 1,                      s = t mod S

    with ``w_s`` the 0/1 weights of subset ``s`` of the measurements (interleaved along the
    operator's ``subset_axis``: the angles of `unrolled.ops.Radon`, the rows of a matrix) and
    ``w = 1`` for MLEM (S = 1). The update is multiplicative, so the estimate stays ≥ 0 from a
    positive start, and MLEM (h = 1) increases the Poisson log-likelihood at every iteration.
    ``b`` is the mean background (randoms, scatter): ``A.background`` where the operator
    carries one, else 0. The exponent h over-relaxes the EM correction (Lewitt & Muehllehner
    1986, h between 1 and 3 to accelerate), the step an unrolled network learns per iteration;
    any h > 0 keeps the estimate ≥ 0.

    Params: ``power`` h > 0 (default 1: EM). Slots: ``estep(x, y, A, weights) -> n`` (default
    `expected_counts`), ``mstep(counts, sens, x) -> x_new`` (default `ml_step`, ``n / s``; a
    MAP-EM step or FBSEM-Net's fusion with a learned prior stands in), ``start(y, A) -> x_0``
    (default `uniform_start`).

    Args:
        subsets: S, the ordered subsets (1: MLEM). One iteration is one sub-iteration, on one
            subset; S of them make one pass over the data.

    Shapes: ``y`` (B, *A.out_shape), real and ≥ 0; ``x`` (B, *A.in_shape).
    """

    power = Param(1.0, positive=True, doc="h, the exponent of the EM correction (1: EM)")
    estep = Slot(expected_counts, doc="estep(x, y, A, weights) -> n, the expected counts per pixel")
    mstep = Slot(ml_step, doc="mstep(counts, sens, x) -> x_new, the M-step (n / s for ML)")
    start = Slot(uniform_start, doc="start(y, A) -> x_0 > 0, the estimate at which layer 1 starts")

    def __init__(self, subsets: int = 1, **overrides: Any) -> None:
        self.subsets = positive_int(subsets, "subsets")
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> MLEMState:
        if y.is_complex():
            raise TypeError(f"y: {type(self).__name__} expects real counts, got dtype {y.dtype}")
        masks = _subset_masks(A, self.subsets, y) if self.subsets > 1 else None
        ones = torch.ones_like(y)
        weights = ones[None] if masks is None else masks[:, None] * ones  # (S, B, *out_shape)
        sens = torch.stack([A.H(w) for w in weights])
        start = self.slots["start"].default if p is None else p.start
        x = torch.ones_like(sens[0]) if start is uniform_start else start(y, A)
        return MLEMState(x, sens, masks)

    def update(self, state: MLEMState, y: Tensor, A: Any, p: Layer) -> MLEMState:
        x, sens, masks = state
        s = p.layer % self.subsets
        counts = p.estep(x, y, A, None if masks is None else masks[s])
        x_em = p.mstep(counts, sens[s], x)
        h = p.power
        if isinstance(h, numbers.Real) and h == 1:
            return MLEMState(x_em, sens, masks)
        return MLEMState(_relaxed(x, x_em, h), sens, masks)


@register("osem")
class OSEM(MLEM):
    """Ordered-subsets expectation-maximisation (Hudson & Larkin 1994): `MLEM` on one subset of
    the measurements per iteration, S subsets (default 4) in turn. Early on, one iteration (one
    subset) gains about what one MLEM iteration does, so a pass over the S subsets gains nearly
    what S of MLEM's do; a scanner's projector computes only the subset's rays, 1/S of MLEM's
    cost, while here every subset is projected whole and weighted, at MLEM's cost."""

    def __init__(self, subsets: int = 4, **overrides: Any) -> None:
        super().__init__(subsets, **overrides)


def _relaxed(x: Tensor, x_em: Tensor, h: float | Tensor) -> Tensor:
    """``x · (x̂ / x)^h``, and ``x̂`` where ``x = 0``; the ratio is floored at the smallest
    normal number, so its power and the gradients stay finite where ``x̂ = 0``."""
    positive = x > 0
    ratio = x_em / torch.where(positive, x, 1)
    tiny = torch.finfo(ratio.dtype).tiny
    return torch.where(positive, x * ratio.clamp_min(tiny).pow(h), x_em)


def _subset_masks(A: Any, subsets: int, y: Tensor) -> Tensor:
    """``(S, *A.out_shape)`` 0/1 weights: subset s holds the indices ``s, s + S, s + 2S, ...``
    of ``A.subset_axis`` (interleaved, so each subset spans the whole range of angles)."""
    shape = tuple(y.shape[1:])
    axis = A.subset_axis % len(shape)
    size = shape[axis]
    if subsets > size:
        raise ValueError(
            f"subsets: expected at most {size} (the measurements along axis {axis} of "
            f"{shape}), got {subsets}"
        )
    index = torch.arange(size, device=y.device) % subsets
    masks = index == torch.arange(subsets, device=y.device)[:, None]  # (S, size)
    view = [subsets] + [1] * len(shape)
    view[1 + axis] = size
    return masks.reshape(view).to(y.dtype)
