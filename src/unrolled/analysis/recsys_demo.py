"""``unrolled demo --task recsys``: the recommendation comparison of `unrolled.analysis.recsys`
on one fold of MovieLens-100K (or synthetic ratings when it is not installed, saying so)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..data import RatingCompletion, Ratings, movielens_100k_path, synthetic_ratings
from .recsys import ALS_SETTINGS, AT_BEST, LABELS, RANKING, SOFT_IMPUTE, compare


def run_recsys_demo(
    seconds: float,
    run_dir: str | os.PathLike[str],
    seed: int = 0,
    ratings: Ratings | None = None,
    mf_epochs: int = 20,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fold 0 of a 5-fold split: the baselines, soft-impute and ALS (λ tuned on held-out
    training ratings) and their unrolled networks, each trained ``seconds / 2``; the table is
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
    log(f"{name}, fold 1 of 5: {p!r}; each unrolled network trains {seconds / 2:g} s")
    results = compare(
        p, seconds / 2, SOFT_IMPUTE, ALS_SETTINGS, mf_epochs=mf_epochs, log=log, train=train
    )
    log(f"{'method':<34}{'RMSE':>8}{'MAE':>8}{'Rec@10':>8}{'NDCG@10':>8}  depth")
    for key, label in LABELS.items():
        r = results[key]
        depth = (
            f"{r['layers']} layers" if "layers" in r
            else f"within {AT_BEST:g} of its best after {r['iterations_to_best']} iterations"
            if "iterations_to_best" in r
            else ""
        )  # fmt: skip
        ranked = "".join(f"{r[k]:>8.4f}" if k in r else f"{'':>8}" for k in RANKING)
        log(f"{label:<34}{r['rmse']:>8.4f}{r['mae']:>8.4f}{ranked}  {depth}")
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / "recsys.json").write_text(json.dumps({"data": name, "results": results}, indent=2))
    return results


__all__ = ["run_recsys_demo"]
