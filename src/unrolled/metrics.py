"""Reconstruction metrics, per sample, batch first.

``nmse(x_hat, x)`` is the normalised mean squared error of each sample,

    NMSE_i = ‖x̂_i − x_i‖² / ‖x_i‖²

over all non-batch dimensions (the modulus for complex tensors), and ``nmse_db`` is
``10·log10(NMSE_i)``. A sample with ``x_i = 0`` has no scale, and its NMSE is ``inf`` (or
``nan`` if ``x̂_i = 0`` too): pass signals that are not all zero.

For images, ``psnr`` and ``ssim`` (Wang et al. 2004's Gaussian-window SSIM, equal to
scikit-image's with ``gaussian_weights=True``) per image; complex images (MRI) are compared by
magnitude.

For recommendation, ``rmse`` and ``mae`` of predicted against held-out ratings, and
``recall_at_k`` and ``ndcg_at_k`` of a top-k list against each user's held-out items (implicit
feedback), averaged over the users who have any.

A `Metric` is how a training problem scores estimates (``problem.metric``): `fit` validates and
early-stops on it, ``unrolled eval`` reports it per layer. It is made of statistics summed over
samples, so that the chunks of a set and the processes of a data-parallel run add up:
`nmse_db_metric`, `psnr_metric`, `ssim_metric`, `error_rate_metric`, `rating_metric`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

REDUCTIONS = ("none", "mean", "median")


def _check_pair(x_hat: Any, x: Any, names: tuple[str, str] = ("x_hat", "x")) -> None:
    for value, name in zip((x_hat, x), names, strict=True):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
        if value.ndim < 1:
            raise ValueError(f"{name}: expected a batched tensor (B, ...), got a 0-dim tensor")
    if x_hat.shape != x.shape:
        raise ValueError(
            f"{names[0]} and {names[1]}: expected the same shape, got {names[0]} "
            f"{tuple(x_hat.shape)} and {names[1]} {tuple(x.shape)}"
        )


def _squared_norm(t: Tensor) -> Tensor:
    """``‖t_i‖²`` per sample: ``(B, ...) -> (B,)``, real even for complex ``t``."""
    t = t.flatten(1) if t.ndim > 1 else t.unsqueeze(1)
    return torch.linalg.vector_norm(t, dim=1).square()


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    if reduction == "median":
        return values.median()
    raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")


def nmse(x_hat: Tensor, x: Tensor) -> Tensor:
    """Linear NMSE per sample, ``‖x̂_i − x_i‖² / ‖x_i‖²``.

    Args:
        x_hat: the estimate, ``(B, *shape)``, real or complex.
        x: the truth, ``(B, *shape)``, same shape.

    Returns:
        ``(B,)``, real.
    """
    _check_pair(x_hat, x)
    return _squared_norm(x_hat - x) / _squared_norm(x)


def nmse_db(x_hat: Tensor, x: Tensor, reduction: str = "mean") -> Tensor:
    """NMSE in decibels, ``10·log10(‖x̂_i − x_i‖² / ‖x_i‖²)`` per sample.

    Args:
        x_hat: the estimate, ``(B, *shape)``, real or complex.
        x: the truth, ``(B, *shape)``, same shape.
        reduction: ``"none"``: the per-sample values, ``(B,)``; ``"mean"``: the mean of the
            per-sample dB values (a geometric mean of the ratios, not the ratio of mean errors),
            ``()``; ``"median"``: their median, ``()``.

    Returns:
        ``(B,)`` or ``()``, real.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    return _reduce(10 * torch.log10(nmse(x_hat, x)), reduction)


def nmse_db_per_layer(trace: Tensor, x: Tensor) -> Tensor:
    """Mean NMSE (dB) of every layer (iteration) of a trace.

    Args:
        trace: every layer's estimate, ``(K, B, *shape)`` (the ``trace`` of ``net(y, trace=True)``
            or ``algorithm.run(y, A, trace=True)``).
        x: the truth, ``(B, *shape)``.

    Returns:
        ``(K,)``: entry k is ``nmse_db(trace[k], x, reduction="mean")``.
    """
    if not isinstance(trace, Tensor):
        raise TypeError(f"trace: expected a torch.Tensor, got {type(trace).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if trace.ndim < 2 or trace.shape[1:] != x.shape:
        raise ValueError(
            f"trace and x: expected trace of shape (K, *x.shape) = (K, {', '.join(map(str, x.shape))}), "
            f"got trace {tuple(trace.shape)} and x {tuple(x.shape)}"
        )
    K = trace.shape[0]
    errors = _squared_norm((trace - x).flatten(0, 1)).view(K, -1)  # (K, B)
    return (10 * torch.log10(errors / _squared_norm(x))).mean(dim=1)


def _images(x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """Checked image pairs as real ``(B, C, H, W)``: complex images become their magnitude (MRI
    is judged on magnitude images), ``(B, H, W)`` gets a channel axis."""
    _check_pair(x_hat, x)
    if x.ndim not in (3, 4):
        raise ValueError(f"x: expected images (B, H, W) or (B, C, H, W), got {tuple(x.shape)}")
    if x_hat.is_complex() or x.is_complex():
        x_hat, x = x_hat.abs(), x.abs()
    if x.ndim == 3:
        x_hat, x = x_hat.unsqueeze(1), x.unsqueeze(1)
    return x_hat, x


def _data_range(x: Tensor, data_range: float | Tensor | None) -> Tensor:
    """``(B,)``: the given range, or each reference image's ``max − min``."""
    if data_range is None:
        flat = x.flatten(1)
        return flat.amax(1) - flat.amin(1)
    if isinstance(data_range, Tensor):
        return data_range.to(device=x.device, dtype=x.dtype).expand(x.shape[0])
    if not isinstance(data_range, int | float) or isinstance(data_range, bool) or data_range <= 0:
        raise ValueError(f"data_range: expected a number > 0 or None, got {data_range!r}")
    return torch.full((x.shape[0],), float(data_range), dtype=x.dtype, device=x.device)


def psnr(
    x_hat: Tensor, x: Tensor, data_range: float | Tensor | None = 1.0, reduction: str = "mean"
) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, ``10·log10(range² / MSE)``.

    Args:
        x_hat, x: the estimate and the reference, ``(B, H, W)`` or ``(B, C, H, W)``; complex
            images are compared by magnitude.
        data_range: the peak value range (1 for images in [0, 1], 255 for 8-bit); ``None``:
            each reference's ``max − min`` (fastMRI uses the reference's maximum).
        reduction: ``"none"`` ``(B,)``, ``"mean"`` or ``"median"`` ``()``.
    """
    x_hat, x = _images(x_hat, x)
    mse = (x_hat - x).square().flatten(1).mean(1)
    return _reduce(10 * torch.log10(_data_range(x, data_range).square() / mse), reduction)


def _gaussian_window(sigma: float, truncate: float, dtype: torch.dtype, device: Any) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    return (g / g.sum()).to(dtype=dtype, device=device)


#: The side of SSIM's Gaussian window at its default σ = 1.5 (truncated at 3.5 σ): the smallest
#: image SSIM scores.
SSIM_WINDOW = 11


def ssim(
    x_hat: Tensor,
    x: Tensor,
    data_range: float | Tensor | None = 1.0,
    reduction: str = "mean",
    sigma: float = 1.5,
) -> Tensor:
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) per image, in [−1, 1].

    The paper's form: local statistics under an 11×11 Gaussian window (``sigma`` 1.5, truncated
    at 3.5 σ), ``K1 = 0.01``, ``K2 = 0.03``, population (co)variances, the SSIM map averaged
    over the pixels whose window lies inside the image and over channels. Equal to
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=...)``. Differentiable, batched, on any device.

    Args:
        x_hat, x: ``(B, H, W)`` or ``(B, C, H, W)``, at least 11 pixels a side; complex images
            are compared by magnitude.
        data_range: as in `psnr`.
        reduction: ``"none"`` ``(B,)``, ``"mean"`` or ``"median"`` ``()``.
        sigma: the Gaussian window's standard deviation in pixels.
    """
    x_hat, x = _images(x_hat, x)
    B, C, H, W = x.shape
    w = _gaussian_window(sigma, 3.5, x.dtype, x.device)
    if H < w.numel() or W < w.numel():
        raise ValueError(
            f"x: SSIM needs images of at least {w.numel()} pixels a side, got {(H, W)}"
        )
    kernel_v, kernel_h = w.view(1, 1, -1, 1), w.view(1, 1, 1, -1)

    def blur(t: Tensor) -> Tensor:  # separable valid filtering of (B·C, 1, H, W)
        return F.conv2d(F.conv2d(t, kernel_v), kernel_h)

    a, b = x_hat.reshape(B * C, 1, H, W), x.reshape(B * C, 1, H, W)
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a.square()
    var_b = blur(b * b) - mu_b.square()
    cov = blur(a * b) - mu_a * mu_b
    L = _data_range(x, data_range).repeat_interleave(C).view(-1, 1, 1, 1)
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a.square() + mu_b.square() + c1) * (var_a + var_b + c2)
    )
    return _reduce(s.view(B, -1).mean(1), reduction)


def poisson_log_likelihood(y: Tensor, mean: Tensor) -> Tensor:
    """The Poisson log-likelihood of counts ``y`` under expected counts ``mean``, per sample:
    ``Σ_i y_i log(mean_i) − mean_i − log(y_i!)`` (a bin with ``mean_i = 0`` adds 0 where
    ``y_i = 0`` and −∞ otherwise). What MLEM increases at every iteration.

    Args:
        y: counts, ``(B, *shape)``, real, ≥ 0.
        mean: expected counts ``A x + b``, ``(B, *shape)``, ≥ 0.

    Returns:
        ``(B,)``, in ``y``'s dtype.
    """
    _check_pair(mean, y, ("mean", "y"))
    terms = torch.xlogy(y, mean) - mean - torch.lgamma(y + 1)
    return terms.flatten(1).sum(1)


def bias_and_std(estimates: Tensor, x: Tensor) -> tuple[float, float]:
    """Bias and standard deviation over noise realisations (%), the emission-tomography
    plot's two axes: for each truth ``x_b``, with ``x̄_b`` the mean of its R estimates,

        bias_b = 100·‖x̄_b − x_b‖ / ‖x_b‖,    std_b = 100·√(Σ_j var_r(x̂_rbj)) / ‖x_b‖

    (the variance over realisations with R − 1 in the denominator), each averaged over ``b``.

    Args:
        estimates: ``(R, B, *shape)``, R ≥ 2 realisations of each of B truths.
        x: ``(B, *shape)``.

    Returns:
        ``(bias, std)``, floats.
    """
    if not isinstance(estimates, Tensor) or estimates.ndim < 2 or estimates.shape[1:] != x.shape:
        shape = tuple(getattr(estimates, "shape", ()))
        raise ValueError(
            f"estimates: expected (R, *x.shape) = (R, {', '.join(map(str, x.shape))}), got {shape}"
        )
    if estimates.shape[0] < 2:
        raise ValueError(f"estimates: expected at least 2 realisations, got {estimates.shape[0]}")
    norm = x.flatten(1).norm(dim=1)
    bias = (estimates.mean(0) - x).flatten(1).norm(dim=1) / norm
    std = estimates.var(0).flatten(1).sum(1).sqrt() / norm
    return float(100 * bias.mean()), float(100 * std.mean())


def _ratings_pair(predicted: Tensor, actual: Tensor) -> None:
    _check_pair(predicted, actual, ("predicted", "actual"))
    if actual.numel() == 0:
        raise ValueError("actual: expected at least one held-out rating, got none")


def rmse(predicted: Tensor, actual: Tensor) -> Tensor:
    """Root mean squared error over all entries, ``√(mean (r̂ − r)²)``: ``(N,)`` each; a
    scalar."""
    _ratings_pair(predicted, actual)
    return (predicted - actual).square().mean().sqrt()


def mae(predicted: Tensor, actual: Tensor) -> Tensor:
    """Mean absolute error over all entries: ``(N,)`` each; a scalar."""
    _ratings_pair(predicted, actual)
    return (predicted - actual).abs().mean()


def _top_k(scores: Tensor, relevant: Tensor, k: int, exclude: Tensor | None) -> Tensor:
    """Whether each of every user's ``k`` best-scored items is relevant: ``(U, k)`` bool."""
    _check_pair(scores, relevant, ("scores", "relevant"))
    if scores.ndim != 2:
        raise ValueError(f"scores: expected (users, items), got shape {tuple(scores.shape)}")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k: expected 1 to {scores.shape[1]} (the items), got {k}")
    if exclude is not None:
        _check_pair(scores, exclude, ("scores", "exclude"))
        scores = scores.masked_fill(exclude.bool(), -torch.inf)
    top = scores.topk(k, dim=1).indices
    return relevant.bool().gather(1, top)


def recall_at_k(
    scores: Tensor, relevant: Tensor, k: int = 10, exclude: Tensor | None = None
) -> Tensor:
    """Recall@k: the fraction of a user's relevant items among its ``k`` best-scored, averaged
    over users with a relevant item. Conventions differ on the denominator; this one is
    ``min(k, |relevant_u|)`` (so a perfect list scores 1, as in Liang et al. 2018's VAE-CF).

    Args:
        scores: ``(U, I)`` higher is better.
        relevant: ``(U, I)`` bool, the held-out items of each user.
        k: the list length.
        exclude: ``(U, I)`` bool, items never recommended (the training items).
    """
    hits = _top_k(scores, relevant, k, exclude).sum(1).to(scores.dtype)
    count = relevant.bool().sum(1)
    users = count > 0
    return (hits[users] / count[users].clamp(max=k)).mean()


def ndcg_at_k(
    scores: Tensor, relevant: Tensor, k: int = 10, exclude: Tensor | None = None
) -> Tensor:
    """NDCG@k with binary relevance: ``DCG = Σ_{j<k} rel_j / log2(j + 2)`` over a user's top
    ``k``, divided by the DCG of the ideal list (its relevant items first), averaged over users
    with a relevant item. Arguments as `recall_at_k`."""
    hits = _top_k(scores, relevant, k, exclude).to(scores.dtype)
    discount = 1 / torch.log2(torch.arange(k, dtype=scores.dtype, device=scores.device) + 2)
    dcg = (hits * discount).sum(1)
    count = relevant.bool().sum(1)
    ideal = torch.cumsum(discount, 0)[(count.clamp(max=k) - 1).clamp_min(0)]
    users = count > 0
    return (dcg[users] / ideal[users]).mean()


@dataclass(frozen=True)
class Metric:
    """A score of estimates ``x̂`` against the truth ``x``, from statistics summed over samples.

    ``sums(x_hat, x)`` gives a ``(S,)`` float64 tensor of statistics summed over the batch (e.g.
    ``[Σ_i NMSE_i, number of samples]``); ``value(totals)`` turns totals (of one set, summed
    over chunks or processes) into the score. ``metric(x_hat, x)`` is both in one go.

    Attributes:
        name: ``"NMSE"``, ``"PSNR"``, ``"SER"``, ``"RMSE"``, …
        unit: ``"dB"`` or ``""``.
        higher_is_better: PSNR, SSIM: True; errors: False.
        fmt: how a value prints (``".2f"``, ``".2e"``).
        min_delta: the smallest change that counts as an improvement for early stopping, in
            the metric's units (`unrolled.train.fit`'s default ``min_delta``).
    """

    name: str
    unit: str
    higher_is_better: bool
    sums: Callable[[Tensor, Tensor], Tensor]
    value: Callable[[Tensor], float]
    fmt: str = ".2f"
    min_delta: float = 0.0

    def __call__(self, x_hat: Tensor, x: Tensor) -> float:
        return self.value(self.sums(x_hat, x))

    @property
    def key(self) -> str:
        """The name in records (``metrics.jsonl``): ``"nmse_db"``, ``"ser"``, …"""
        text = " ".join(filter(None, (self.name, self.unit))).lower().replace("@", " at ")
        return re.sub(r"\W+", "_", text).strip("_")

    @property
    def label(self) -> str:
        """``"NMSE (dB)"``, ``"SER"``."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def improves(self, new: float, best: float | None, margin: float = 0.0) -> bool:
        """Whether ``new`` beats ``best`` (None: nothing yet) by more than ``margin``."""
        if best is None:
            return not math.isnan(new)
        return new > best + margin if self.higher_is_better else new < best - margin

    def format(self, value: float) -> str:
        return format(value, self.fmt)


def _mean_of(values: Tensor) -> Tensor:
    """``[Σ values, count]`` over those that are not NaN, float64 (an exact image's PSNR is +∞,
    and so is the mean it enters)."""
    v = values.detach().double()
    keep = ~torch.isnan(v)
    return torch.stack([v[keep].sum(), keep.sum().double()])


def _ratio(totals: Tensor) -> float:
    total, count = (float(t) for t in totals)
    return total / count if count else math.nan


def _nmse_sums(x_hat: Tensor, x: Tensor) -> Tensor:
    """``[Σ_i ‖x̂_i − x_i‖²/‖x_i‖², the number of samples]`` over the observed (non-NaN)
    entries of ``x`` and the samples with ``x_i ≠ 0``."""
    observed = ~torch.isnan(x)
    truth = torch.where(observed, x, torch.zeros_like(x))
    error = ((x_hat.to(truth.dtype) - truth) * observed).abs().square().flatten(1).sum(1)
    power = truth.abs().square().flatten(1).sum(1)
    valid = power > 0
    return torch.stack([(error[valid] / power[valid]).double().sum(), valid.sum().double()])


def _db_of_mean(totals: Tensor) -> float:
    """``10·log10`` of the mean (taken before the logarithm, so that samples recovered exactly
    count as zero error rather than −∞ dB); NaN without samples, −∞ at zero error."""
    mean = _ratio(totals)
    if math.isnan(mean):
        return mean
    return 10 * math.log10(mean) if mean > 0 else -math.inf


def nmse_db_metric() -> Metric:
    """NMSE in dB, ``10·log10(mean_i ‖x̂_i − x_i‖²/‖x_i‖²)``: sparse recovery's score (over the
    observed entries where ``x`` marks others NaN)."""
    return Metric("NMSE", "dB", False, _nmse_sums, _db_of_mean, min_delta=0.01)


def _nrmse_sums(x_hat: Tensor, x: Tensor) -> Tensor:
    """``[Σ_i 100·‖x̂_i − x_i‖/‖x_i‖, the number of samples]`` over the samples with ``x_i ≠ 0``."""
    error = (x_hat.to(x.dtype) - x).abs().square().flatten(1).sum(1).sqrt()
    power = x.abs().square().flatten(1).sum(1).sqrt()
    valid = power > 0
    return torch.stack([(100 * error[valid] / power[valid]).double().sum(), valid.sum().double()])


def nrmse_metric() -> Metric:
    """NRMSE in percent, ``mean_i 100·‖x̂_i − x_i‖/‖x_i‖``: emission tomography's usual score."""
    return Metric("NRMSE", "%", False, _nrmse_sums, _ratio, min_delta=0.01)


def psnr_metric(data_range: float | None = 1.0) -> Metric:
    """Mean `psnr` over images (dB): imaging's score."""
    sums = lambda a, b: _mean_of(psnr(a, b, data_range, "none"))  # noqa: E731
    return Metric("PSNR", "dB", True, sums, _ratio, min_delta=0.01)


def ssim_metric(data_range: float | None = 1.0) -> Metric:
    """Mean `ssim` over images."""
    sums = lambda a, b: _mean_of(ssim(a, b, data_range, reduction="none"))  # noqa: E731
    return Metric("SSIM", "", True, sums, _ratio, ".4f", min_delta=1e-4)


def error_rate_metric(decide: Callable[[Tensor], Tensor], name: str = "SER") -> Metric:
    """The fraction of entries whose hard decision ``decide(x̂)`` differs from ``decide(x)``:
    a detector's symbol error rate."""

    def sums(x_hat: Tensor, x: Tensor) -> Tensor:
        wrong = decide(x_hat) != decide(x)
        return torch.stack(
            [wrong.double().sum(), wrong.new_tensor(wrong.numel(), dtype=torch.float64)]
        )

    return Metric(name, "", False, sums, _ratio, ".2e")


def rating_metric(name: str = "RMSE", scale: tuple[float, float] = (-math.inf, math.inf)) -> Metric:
    """``"RMSE"`` or ``"MAE"`` over the observed (non-NaN) entries of ``x``, predictions clipped
    to the ratings' ``scale`` (as Surprise does): recommendation's score."""
    if name not in ("RMSE", "MAE"):
        raise ValueError(f"name: expected 'RMSE' or 'MAE', got {name!r}")
    lo, hi = scale

    def sums(x_hat: Tensor, x: Tensor) -> Tensor:
        seen = ~torch.isnan(x)
        error = x_hat[seen].detach().double().clamp(lo, hi) - x[seen].double()
        stat = error.square() if name == "RMSE" else error.abs()
        return torch.stack([stat.sum(), stat.new_tensor(stat.numel())])

    value = (lambda t: math.sqrt(_ratio(t))) if name == "RMSE" else _ratio
    return Metric(name, "", False, sums, value, ".4f", min_delta=1e-4)


def _ranking_sums(at_k: Callable[..., Tensor], k: int) -> Callable[[Tensor, Tensor], Tensor]:
    """``sums`` of a ranking metric for scores ``x̂`` ``(..., I)`` and relevance ``x`` ``(..., I)``
    (1 relevant, 0 not, NaN for the items never ranked, such as those a user already has), a
    list per row of the last dimension (``(B, I)``: a user per sample; ``(B, U, I)``: a rating
    matrix per sample): ``[Σ_u metric_u, users with a relevant item]``."""

    def sums(x_hat: Tensor, x: Tensor) -> Tensor:
        x_hat, x = x_hat.reshape(-1, x.shape[-1]), x.reshape(-1, x.shape[-1])
        unranked = torch.isnan(x)
        relevant = (x == 1) & ~unranked
        users = relevant.any(1)
        if not bool(users.any()):
            return torch.zeros(2, dtype=torch.float64, device=x.device)
        scores = x_hat.real.detach().to(torch.float64)
        value = at_k(scores[users], relevant[users], min(k, x.shape[1]), unranked[users])
        return torch.stack([value.double() * users.sum(), users.sum().double()])

    return sums


def recall_metric(k: int = 20) -> Metric:
    """Mean `recall_at_k` over the users with a held-out item: ranking's score."""
    return Metric(f"Recall@{k}", "", True, _ranking_sums(recall_at_k, k), _ratio, ".4f", 1e-4)


def ndcg_metric(k: int = 20) -> Metric:
    """Mean `ndcg_at_k` over the users with a held-out item."""
    return Metric(f"NDCG@{k}", "", True, _ranking_sums(ndcg_at_k, k), _ratio, ".4f", 1e-4)


__all__ = [
    "REDUCTIONS",
    "Metric",
    "bias_and_std",
    "error_rate_metric",
    "mae",
    "ndcg_at_k",
    "ndcg_metric",
    "nmse",
    "nmse_db",
    "nmse_db_metric",
    "nmse_db_per_layer",
    "nrmse_metric",
    "poisson_log_likelihood",
    "psnr",
    "psnr_metric",
    "rating_metric",
    "recall_at_k",
    "recall_metric",
    "rmse",
    "ssim",
    "ssim_metric",
]
