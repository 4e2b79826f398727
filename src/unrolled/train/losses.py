"""Training losses and validation scores (a problem's `unrolled.metrics.Metric`).

``loss`` names (per layer; a schedule's loss is a weighted sum over layers):

``"nmse_db"`` (the default)
    The batch mean of each sample's NMSE in dB, ``10·log10(‖x̂_i − x_i‖² / ‖x_i‖²)``: the metric
    validation reports and the tables print. Being a logarithm, it keeps pushing as the error
    falls by orders of magnitude (−40, −60 dB), where a squared error's gradient fades.
``"nmse"``
    The batch mean of each sample's linear NMSE, ``‖x̂_i − x_i‖² / ‖x_i‖²``.
``"mse"``
    The mean squared error over all entries (Borgerding's and Chen et al.'s ``l2_loss``, up to a
    constant factor).
``"softmax"``
    A ranking loss for scores ``x̂`` of items and 0/1 relevance ``x``, a list per row of the
    last dimension (a user's items): the multinomial log-likelihood of each list's relevant
    items under ``softmax(x̂_u)`` over its observed entries,
    ``−Σ_j x_uj log softmax(x̂_u)_j / Σ_j x_uj`` (Liang et al. 2018's Mult-VAE likelihood;
    sampled-softmax training of recommenders with every negative), averaged over the lists
    with a relevant item.
``"bpr"``
    Bayesian personalised ranking (Rendle et al. 2009), the same lists, every entry with
    ``x > 0`` relevant alike: each relevant item ``p`` of a list is paired with one negative
    ``n`` drawn uniformly from the list's other observed entries, on the scores' device from
    torch's default generator there (``torch.manual_seed`` makes a run repeat), and scores
    ``−log σ(x̂_up − x̂_un)``; the mean over a list's pairs, averaged over the lists with a
    relevant item and a negative. LightGCN's loss (He et al. 2020).

Unobserved targets: an entry of ``x`` that is NaN is not part of the truth (a rating nobody
gave; matrix completion trains on the held-out entries of the observed ones only). Every loss
and the validation metric count the other entries alone: the squared error and ``‖x_i‖²`` sum
over them, and ``"mse"`` divides by their number.

Samples with ``x_i = 0`` have no scale: the NMSE losses and the validation metric leave them out
(a batch without any other sample contributes 0). A tiny floor, ``1e-12·‖x_i‖²``, keeps an exact
reconstruction finite in dB (−120 dB).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..metrics import Metric, nmse_db_metric

LOSSES = ("nmse_db", "nmse", "mse", "softmax", "bpr")


def _abs2(t: Tensor) -> Tensor:
    """``|t|²`` entrywise, real for complex ``t``."""
    return t.abs().square() if t.is_complex() else t.square()


def _error_and_power(x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per sample, over the observed (non-NaN) entries of ``x``: the squared error of every
    estimate ``(..., B)``, ``‖x_i‖²`` ``(B,)`` and the number of entries ``(B,)``. ``x_hat``
    ``(..., B, *shape)``, ``x`` ``(B, *shape)``."""
    B = x.shape[0]
    observed = ~torch.isnan(x)
    # zero the unobserved entries before squaring: a NaN would poison the gradient through 0·NaN
    truth = torch.where(observed, x, torch.zeros_like(x))
    error = _abs2((x_hat - truth) * observed)
    error = error.reshape(*x_hat.shape[: x_hat.dim() - x.dim()], B, -1).sum(-1)
    return error, _abs2(truth).reshape(B, -1).sum(-1), observed.reshape(B, -1).sum(-1)


def layer_losses(name: str, x_hat: Tensor, x: Tensor) -> Tensor:
    """The loss of every layer's estimate.

    Args:
        name: one of `LOSSES`.
        x_hat: estimates ``(L, B, *shape)`` (L layers, e.g. a trace).
        x: the truth ``(B, *shape)``.

    Returns:
        ``(L,)``.
    """
    if name == "softmax":
        return _softmax_losses(x_hat, x)
    if name == "bpr":
        return _bpr_losses(x_hat, x)
    error, power, entries = _error_and_power(x_hat, x)  # (L, B), (B,), (B,)
    if name == "mse":
        return (error / entries.clamp_min(1)).mean(-1)
    valid = power > 0
    count = valid.sum().clamp_min(1)
    safe = torch.where(valid, power, torch.ones_like(power))
    ratio = (error + 1e-12 * safe) / safe  # (L, B)
    per_sample = 10 * torch.log10(ratio) if name == "nmse_db" else ratio
    return torch.where(valid, per_sample, torch.zeros_like(per_sample)).sum(-1) / count


def _softmax_losses(x_hat: Tensor, x: Tensor) -> Tensor:
    """``"softmax"``: ``(L,)`` from ``x_hat`` ``(L, B, *shape)`` and ``x`` ``(B, *shape)``, a
    list per row of the last dimension (a user's items)."""
    L, items = x_hat.shape[0], x.shape[-1]
    observed = ~torch.isnan(x).reshape(-1, items)
    relevant = torch.where(
        observed, x.reshape(-1, items), torch.zeros_like(observed, dtype=x.dtype)
    )
    # the dtype's lowest, not −inf: a list with nothing observed stays finite (and its gradient)
    lowest = torch.finfo(x_hat.dtype).min
    scores = x_hat.reshape(L, -1, items).masked_fill(~observed, lowest)
    log_p = torch.log_softmax(scores, dim=-1).masked_fill(~observed, 0.0)
    count = relevant.sum(-1)
    valid = count > 0
    per_list = -(relevant * log_p).sum(-1) / count.clamp_min(1)  # (L, lists)
    per_list = torch.where(valid, per_list, torch.zeros_like(per_list))
    return per_list.sum(-1) / valid.sum().clamp_min(1)


def _bpr_losses(x_hat: Tensor, x: Tensor) -> Tensor:
    """``"bpr"``: ``(L,)`` from ``x_hat`` ``(L, B, *shape)`` and ``x`` ``(B, *shape)``, a list
    per row of the last dimension, one sampled negative per relevant item."""
    L, items = x_hat.shape[0], x.shape[-1]
    observed = ~torch.isnan(x).reshape(-1, items)
    relevant = observed & (x.reshape(-1, items) > 0)
    negative = observed & ~relevant
    count = negative.sum(-1, keepdim=True)
    valid = relevant.any(-1) & (count[:, 0] > 0)
    # the j-th negative of a list, j uniform: the first index where the running count of its
    # negatives passes j (torch.multinomial took 2.4 times as long on 256 lists of 1682)
    j = torch.floor(torch.rand(negative.shape, device=x.device) * count).clamp_max(count - 1)
    running = negative.cumsum(-1, dtype=torch.int64)
    drawn = torch.searchsorted(running, j.to(torch.int64) + 1).clamp_max(items - 1)
    scores = x_hat.reshape(L, -1, items)
    margin = scores - scores.gather(-1, drawn.expand(L, -1, -1))  # x̂_up − x̂_un
    pairs = relevant & valid[:, None]
    # where, not a product: an infinite score off the pairs must not make 0·inf
    loss = torch.where(pairs, nn.functional.softplus(-margin), torch.zeros_like(margin))
    per_list = loss.sum(-1) / pairs.sum(-1).clamp_min(1)
    return per_list.sum(-1) / valid.sum().clamp_min(1)


def _operator_args(A: Any) -> tuple[Any, ...]:
    """The model's positional arguments after ``y``: ``A`` when the samples carry one."""
    return () if A is None else (A,)


def supervised_loss(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    depth: int,
    weights: tuple[float, ...],
    name: str,
    A: Any = None,
    forward: Any = None,
) -> Tensor:
    """``Σ_k weights[k]·loss(layer k's output)`` over layers 1..depth, plus the model's own
    auxiliary loss when it has one (``model.has_auxiliary``, e.g. ISTA-Net's symmetry term); a
    scalar. ``A``: the batch's own operator (per-sample masks, kernels), passed on as
    ``model(y, A)``. ``forward``: what is called in the model's place (the model compiled, or
    wrapped for data parallelism); default the model."""
    args = _operator_args(A)
    extra = {"auxiliary": True} if getattr(model, "has_auxiliary", False) else {}
    model = model if forward is None else forward
    if all(w == 0 for w in weights[:-1]):
        out = model(y, *args, depth=depth, **extra)
        x_hat, aux = out if extra else (out, 0.0)
        return layer_losses(name, _full(x_hat, x).unsqueeze(0), x)[0] + _full(aux, x)
    _, trace, *aux = model(y, *args, trace=True, depth=depth, **extra)  # (depth, B, *shape)
    trace = _full(trace, x)
    w = torch.tensor(weights, dtype=trace.real.dtype, device=trace.device)
    return (w * layer_losses(name, trace, x)).sum() + sum((_full(a, x) for a in aux), 0.0)


def _full(t: Any, x: Tensor) -> Any:
    """``t`` in the truth's precision: under autocast (bf16, fp16) the loss is still fp32."""
    if isinstance(t, Tensor) and t.dtype in (torch.bfloat16, torch.float16):
        return t.to(x.real.dtype)
    return t


@torch.no_grad()
def validation_totals(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    depth: int,
    metric: Metric | None = None,
    batch: int = 1024,
    A: Any = None,
    count_nonfinite: bool = False,
) -> Tensor:
    """The totals of ``metric.sums`` (default NMSE in dB) over ``model(y, depth=depth)``, a
    ``(S,)`` float64 tensor on the model's device: what processes (e.g. of a data-parallel run,
    each holding a share of the set) add up before ``metric.value``. With ``count_nonfinite``,
    ``(S + 1,)``: the last total counts the samples whose estimate holds a NaN or Inf (which a
    metric's mean would skip or turn into a score).

    ``x`` ``(N, *shape)`` and ``y`` ``(N, ...)`` are processed in chunks of ``batch``; with the
    set's own operator ``A`` (one per sample) in one piece, as ``model(y, A)``.
    """
    metric = metric or nmse_db_metric()
    if A is not None:
        batch = x.shape[0]
    training = model.training
    model.eval()
    try:
        totals: Tensor | None = None
        for start in range(0, x.shape[0], batch):
            xb, yb = x[start : start + batch], y[start : start + batch]
            x_hat = model(yb, *_operator_args(A), depth=depth)
            sums = metric.sums(_full(x_hat, xb), xb)
            if count_nonfinite:
                bad = (~torch.isfinite(x_hat)).flatten(1).any(1).sum()
                sums = torch.cat([sums, bad.to(sums.dtype).reshape(1)])
            totals = sums if totals is None else totals + sums
    finally:
        model.train(training)
    if totals is None:
        raise ValueError("x: expected at least one validation sample, got an empty set")
    return totals


def validation_score(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    depth: int,
    metric: Metric | None = None,
    batch: int = 1024,
    A: Any = None,
) -> float:
    """``metric`` (default NMSE in dB) of ``model(y, depth=depth)`` over the set; see
    `validation_totals`."""
    metric = metric or nmse_db_metric()
    return metric.value(validation_totals(model, x, y, depth, metric, batch, A))


def validation_nmse_db(
    model: nn.Module, x: Tensor, y: Tensor, depth: int, batch: int = 1024, A: Any = None
) -> float:
    """NMSE of ``model(y, depth=depth)`` averaged over the samples with ``x_i ≠ 0`` (over the
    observed entries when ``x`` marks others NaN), then in dB:
    ``10·log10(mean_i ‖x̂_i − x_i‖²/‖x_i‖²)`` (`unrolled.metrics.nmse_db_metric`). The mean is
    taken before the logarithm so that samples recovered exactly (a detector's saturated
    posterior mean) count as zero error rather than −inf dB.
    """
    return validation_score(model, x, y, depth, nmse_db_metric(), batch, A)


__all__ = [
    "LOSSES",
    "layer_losses",
    "supervised_loss",
    "validation_nmse_db",
    "validation_score",
    "validation_totals",
]
