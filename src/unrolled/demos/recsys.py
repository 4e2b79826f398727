"""Matrix completion against the classical methods on one evaluation split of a rating set
(`compare`): RMSE and MAE on its test ratings, Recall@10 and NDCG@10 of the lists they rank
(scored by `unrolled.analysis.recsys`), the iterations each classical algorithm needs to reach
its best, the layers of the unrolled networks, and training time. `benchmarks/recsys.py` runs it
on every fold of MovieLens-100K; ``unrolled demo --task recsys`` (`run_recsys_demo`) on one
(or on synthetic ratings when MovieLens is not installed, saying so).

Hyperparameters (λ of soft-impute and ALS) are chosen on the problem's validation split (a
hold-out of the *training* ratings), never on the test ratings.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..algorithms import ALS, ALSMNAR, SoftImpute
from ..analysis.recsys import RANKING, iterate, rmse_observed, scores
from ..core import Algorithm, create
from ..data import RatingCompletion, Ratings, movielens_100k_path, synthetic_ratings
from ..recsys import fit_biased_mf, rating_biases
from ..train import fit
from .top_n import top_n_demo

#: A classical run is "at its best" once within this RMSE of its lowest.
AT_BEST = 1e-3

#: Methods in table order, with the label the README prints.
LABELS = {
    "global-mean": "global mean",
    "biases": "baseline biases (BaselineOnly)",
    "biased-mf": "biased MF, SGD (Surprise's SVD)",
    "soft-impute": "soft-impute",
    "als": "ALS",
    "soft-impute-net": "unrolled soft-impute (ours)",
    "als-net": "unrolled ALS (ours)",
    "als-missing": "ALS, unrated entries weighted (Steck 2010)",
    "soft-impute-net-ranking": "unrolled soft-impute, ranking loss (ours)",
    "als-net-ranking": "unrolled ALS, unrated weighted, ranking loss (ours)",
}


#: The settings `benchmarks/recsys.py` and the demo use: λ grids (soft-impute: a fraction of
#: σ₁ of the observed residual; ALS: the ridge weight per rating), classical iterations,
#: unrolled layers and learning rate. Chosen on fold 0's validation split of MovieLens-100K:
#: classical ALS is at its best after 3–4 sweeps, soft-impute after tens of iterations.
SOFT_IMPUTE = {"rank": 30, "grid": (0.2, 0.3, 0.4, 0.5, 0.6), "iterations": 100, "layers": 5,
               "lr": 1e-2}  # fmt: skip
ALS_SETTINGS = {"rank": 30, "grid": (0.06, 0.09, 0.12, 0.16, 0.22), "iterations": 20,
                "layers": 2, "lr": 1e-2,
                "missing_grid": tuple((w, v) for w in (0.1, 0.3, 0.6) for v in (-2.0, -3.0, -4.0))}  # fmt: skip
#: ``missing_grid``: Steck's (2010) weighting of the unrated entries, ``(w_m, r_m)`` pairs (the
#: weight of an unrated entry, the rating imputed to it relative to the mean) tried on the
#: ranking problem's validation lists with ALS's tuned λ. On fold 0's validation lists Recall@10
#: is flat (0.26–0.27) over w_m 0.1–0.6 and r_m −2 to −4, and falls below: the grid spans the
#: plateau rather than ending at its edge.


def tune(
    make: Callable[[Any], Algorithm], grid: Sequence[Any], p: RatingCompletion, iterations: int
) -> tuple[Any, dict[Any, float]]:
    """The value in ``grid`` whose algorithm, run ``iterations`` times on the validation split's
    visible ratings, best predicts its hidden ones (the lowest RMSE at its best iteration; with
    ``p.target == "ranking"``, the highest Recall of the lists); and every value's score."""
    x_val, y_val, A_val = p.validation
    if p.target == "ranking":
        metric = p.metric
        score, best = (lambda x: metric(x, x_val)), max
    else:
        score, best = (lambda x: rmse_observed(x, x_val)), min
    found = {value: best(iterate(make(value), y_val, A_val, iterations, score)) for value in grid}
    return best(found, key=found.get), found


def classical(
    name: str, make: Callable[[Any], Algorithm], grid: Sequence[Any], p: RatingCompletion,
    iterations: int,
) -> dict[str, Any]:  # fmt: skip
    """``name`` with its setting (λ) tuned on the validation split (`tune`), then run
    ``iterations`` times on all the training ratings: its test RMSE and MAE after the last
    iteration, its best test RMSE over the iterations and the first iteration within `AT_BEST`
    of it."""
    t0 = time.perf_counter()
    value, validation = tune(make, grid, p, iterations)
    tuned = time.perf_counter() - t0
    y, A = p.inputs()
    last = y

    def score(x: Tensor) -> float:
        nonlocal last
        last = x
        return scores(x, p)["rmse"]

    t0 = time.perf_counter()
    curve = iterate(make(value), y, A, iterations, score)
    seconds = time.perf_counter() - t0
    best = min(curve)
    return {
        **scores(last, p, ranked=True),
        "iterations": iterations,
        "best_rmse": round(best, 5),
        "iterations_to_best": next(t + 1 for t, r in enumerate(curve) if r <= best + AT_BEST),
        "rmse_per_iteration": [round(r, 5) for r in curve],
        "chosen": value,
        "validation_" + ("recall" if p.target == "ranking" else "rmse"): {
            str(k): round(v, 5) for k, v in validation.items()
        },
        "seconds": round(seconds, 2),
        "tuning_seconds": round(tuned, 2),
        "label": LABELS[name],
    }


def unrolled(
    name: str,
    p: RatingCompletion,
    layers: int,
    seconds: float,
    lr: float,
    train: Mapping[str, Any] | None = None,
    label: str | None = None,
    **start: Any,
) -> dict[str, Any]:
    """``name`` (a registered model) with ``layers`` layers, starting from the classical
    algorithm at ``start`` (its tuned λ), trained for ``seconds`` on fresh hold-outs of the
    training ratings (``loss="mse"``, or the ranking loss ``"softmax"`` when ``p.target`` is
    ``"ranking"``; ``train``: more `fit` settings, e.g. the device); its test RMSE, MAE,
    Recall and NDCG, and the RMSE and MAE of the untrained network (the classical algorithm
    stopped after ``layers`` iterations; with its Recall and NDCG when ranking)."""
    torch.manual_seed(p.seed)
    net = create(name, operator=p.operator, layers=layers, **start)
    y, A = p.inputs()
    with torch.no_grad():
        before = scores(net(y, A), p, ranked=p.target == "ranking")
    steps: list[int] = []
    t0 = time.perf_counter()
    # the loss follows the problem's target (the recipe's, `unrolled.models.als_net.target_loss`)
    fit(net, p, schedule="end-to-end", lr=lr, batch_size=1, max_seconds=seconds,
        eval_every=10, patience=None, min_delta=1e-4, progress=False,
        callback=lambda info: steps.append(info["step"]), **(train or {}))  # fmt: skip
    train_seconds = time.perf_counter() - t0
    net.cpu().eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        after = scores(net(y, A), p, ranked=True)
    return {
        **after,
        "layers": layers,
        "untrained": before,
        "train_seconds": round(train_seconds, 1),
        "train_steps": steps[-1] if steps else 0,
        "predict_seconds": round(time.perf_counter() - t0, 3),
        "start": start,
        "learned": {
            k: [round(float(v), 5) for v in t.detach().flatten()]
            for k, t in net.param_values().items()
        },
        "label": LABELS[label or name],
    }


def baselines(p: RatingCompletion, mf_epochs: int = 20, mf_factors: int = 100) -> dict[str, Any]:
    """The global mean, the baseline biases and biased MF by SGD (Surprise's defaults)."""
    y, A = p.inputs()
    W = A.gram(torch.ones_like(y))
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    mu, b, c = rating_biases(y, W)
    # one score for every item: no ranking to measure
    out["global-mean"] = {**scores(mu[:, None, None].expand_as(y), p), "seconds": 0.0}
    bias = mu[:, None, None] + b[:, :, None] + c[:, None, :]
    out["biases"] = {**scores(bias, p, ranked=True), "seconds": round(time.perf_counter() - t0, 2)}
    t = p.train_ratings
    t0 = time.perf_counter()
    mf = fit_biased_mf(t.users, t.items, t.values, t.shape, factors=mf_factors,
                       epochs=mf_epochs, seed=p.seed)  # fmt: skip
    seconds = time.perf_counter() - t0
    users, items = (a.ravel() for a in np.indices(y.shape[1:]))  # every pair: lists rank them all
    full = torch.from_numpy(mf.predict(users, items)).reshape(y.shape)
    out["biased-mf"] = {**scores(full, p, ranked=True), "seconds": round(seconds, 2),
                        "factors": mf_factors, "epochs": mf_epochs}  # fmt: skip
    for key in out:
        out[key]["label"] = LABELS[key]
    return out


def compare(
    p: RatingCompletion,
    seconds: float,
    soft_impute: dict[str, Any] = SOFT_IMPUTE,
    als: dict[str, Any] = ALS_SETTINGS,
    mf_epochs: int = 20,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every method of `LABELS` on ``p``. ``soft_impute`` and ``als``: ``rank``, ``grid`` (λ
    values to tune over), ``iterations`` (classical), ``layers`` and ``lr`` (unrolled);
    ``als["missing_grid"]``: the ``(w_m, r_m)`` of Steck's weighting to tune over.

    Then the ranking-aware models, on ``p.with_target("ranking")`` (the same split): ALS with
    the unrated entries weighted, and both networks trained with the ranking loss, each from
    its tuned classical algorithm."""
    out = baselines(p, mf_epochs)
    log(_line("baselines", out))
    start: dict[str, dict[str, Any]] = {}
    for name, cfg, make in (
        ("soft-impute", soft_impute, lambda v, r=soft_impute["rank"]: SoftImpute(rank=r, threshold=v)),
        ("als", als, lambda v, r=als["rank"]: ALS(rank=r, reg=v)),
    ):  # fmt: skip
        out[name] = classical(name, make, cfg["grid"], p, cfg["iterations"])
        key = "threshold" if name == "soft-impute" else "reg"
        start[name] = {"rank": cfg["rank"], key: out[name]["chosen"]}
        out[f"{name}-net"] = unrolled(
            f"{name}-net", p, cfg["layers"], seconds, cfg["lr"], train=train, **start[name]
        )
        log(_line(name, {k: out[k] for k in (name, f"{name}-net")}))
    ranking = p.with_target("ranking")
    reg = out["als"]["chosen"]
    out["als-missing"] = classical(
        "als-missing",
        lambda v: ALSMNAR(rank=als["rank"], reg=reg, missing_weight=v[0], missing_value=v[1]),
        als["missing_grid"], ranking, als["iterations"],
    )  # fmt: skip
    w, v = out["als-missing"]["chosen"]
    start["als"].update(missing_weight=w, missing_value=v)
    for name, cfg in (("soft-impute", soft_impute), ("als", als)):
        out[f"{name}-net-ranking"] = unrolled(
            f"{name}-net", ranking, cfg["layers"], seconds, cfg["lr"], train=train,
            label=f"{name}-net-ranking", **start[name],
        )  # fmt: skip
    ranked = ("als-missing", "soft-impute-net-ranking", "als-net-ranking")
    log(_line("ranking", {k: out[k] for k in ranked}))
    return out


def _line(title: str, results: dict[str, Any]) -> str:
    return f"  {title}: " + ", ".join(
        f"{k} {v['rmse']:.4f}" + (f" (Recall@10 {v['recall@10']:.4f})" if "recall@10" in v else "")
        for k, v in results.items()
    )


def summarise(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over folds of every method's RMSE, MAE, Recall, NDCG and
    time; for the networks, also of their untrained scores (``untrained_rmse``, ...)."""
    out: dict[str, Any] = {}
    for name in LABELS:
        runs = [f[name] for f in folds if name in f]
        if not runs:
            continue
        runs = [{**r, **{f"untrained_{k}": v for k, v in r.get("untrained", {}).items()}}
                for r in runs]  # fmt: skip
        entry: dict[str, Any] = {"label": LABELS[name], "folds": len(runs)}
        scored = ("rmse", "mae", *RANKING)
        for key in (*scored, "best_rmse", "iterations_to_best", "layers", "seconds",
                    "tuning_seconds", "train_seconds", *(f"untrained_{k}" for k in scored)):  # fmt: skip
            values = [r[key] for r in runs if key in r]
            if values:
                mean = sum(values) / len(values)
                sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
                entry[key] = round(mean, 4)
                entry[f"{key}_sd"] = round(sd, 4)
        out[name] = entry
    return out


def run_recsys_demo(
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    ratings: Ratings | None = None,
    mf_epochs: int = 20,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Ratings, fold 0 of a 5-fold split: the baselines, soft-impute and ALS (λ tuned on
    held-out training ratings) and their unrolled networks; then top-N from the same data's
    implicit feedback (`unrolled.demos.top_n`): graph-filter-net beside BPR-MF and one user's
    two top-10 lists. Each of the five networks trains ``seconds / 5``; the tables are
    printed and written to ``run_dir/recsys.json``.

    Args:
        ratings: the rating set; by default MovieLens-100K when installed, else synthetic
            ratings (943 users × 1682 items, MovieLens' size and density).
        train: more `fit` settings for the networks (``device``, ``precision``, ``compile``).
    """
    if ratings is None:
        if movielens_100k_path() is None:
            log(
                "MovieLens-100K is not installed (`make movielens` or `pip install --no-deps "
                "recbole==1.2.1` puts it on disk): running on synthetic ratings instead."
            )
            ratings = synthetic_ratings(943, 1682, rank=10, density=0.063, seed=seed)
            name = "synthetic ratings"
        else:
            name = "MovieLens-100K"
            ratings = "movielens-100k"
    else:
        name = repr(ratings)
    p = RatingCompletion(ratings, fold=0, seed=seed)
    log(f"{name}, fold 1 of 5: {p!r}; each unrolled network trains {seconds / 5:g} s")
    results = compare(
        p, seconds / 5, SOFT_IMPUTE, ALS_SETTINGS, mf_epochs=mf_epochs, log=log, train=train
    )
    log(f"{'method':<52}{'RMSE':>8}{'MAE':>8}{'Rec@10':>8}{'NDCG@10':>8}  depth")
    for key, label in LABELS.items():
        r = results[key]
        depth = (
            f"{r['layers']} layers" if "layers" in r
            else f"within {AT_BEST:g} of its best after {r['iterations_to_best']} iterations"
            if "iterations_to_best" in r
            else ""
        )  # fmt: skip
        ranked = "".join(f"{r[k]:>8.4f}" if k in r else f"{'':>8}" for k in RANKING)
        log(f"{label:<52}{r['rmse']:>8.4f}{r['mae']:>8.4f}{ranked}  {depth}")
    log("")
    top = top_n_demo(ratings, seconds / 5, seed=seed, log=log, train=train)
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    saved = {"data": name, "results": results, "top_n": top}
    (path / "recsys.json").write_text(json.dumps(saved, indent=2))
    return results


__all__ = [
    "ALS_SETTINGS",
    "AT_BEST",
    "LABELS",
    "SOFT_IMPUTE",
    "baselines",
    "classical",
    "compare",
    "run_recsys_demo",
    "summarise",
    "tune",
    "unrolled",
]
