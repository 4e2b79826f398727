"""Recommendation on MovieLens-100K, in two parts.

Ratings (``--part rating``, the default): 5-fold cross-validation, RMSE, MAE, Recall@10 and
NDCG@10 of the unrolled soft-impute and ALS next to their classical algorithms, biased MF by SGD,
the baseline biases and the global mean, beside Surprise's published numbers; and how many layers
the unrolled networks use against the iterations their classical algorithms need to reach their
best. Then the same split as a ranking problem (``RatingCompletion.with_target("ranking")``): ALS
with the unrated entries weighted (Steck 2010, its weight and imputed rating tuned on validation
Recall@10), and both networks trained with the softmax ranking loss, their RMSE beside.

Ranking (``--part ranking``): top-N from implicit feedback on the temporal split, graph-filter-net
at each propagation depth K beside the classical graph filters, popularity, item-kNN, BPR-MF and,
with the peers environment (`make peers`), the `implicit` library's ALS and BPR; Recall, NDCG and
coverage at 10 and 20, mean ± sd over seeds, and the figure results/recsys_ranking.png (Recall@20
against K). The protocol is in benchmarks/ranking.py.

    python benchmarks/recsys.py --seconds 90            # every fold, into results/recsys.json
    python benchmarks/recsys.py --folds 0 1 --seconds 60   # some folds (merged fold by fold)
    python benchmarks/recsys.py --table
    .venv-peers/bin/python benchmarks/recsys.py --part ranking        # seeds 0 1 2, with implicit
    python benchmarks/recsys.py --part ranking --table                 # tables and figure redrawn

MovieLens-100K comes from the recbole 1.2.1 wheel (`make movielens`, or
``pip install --no-deps recbole==1.2.1``); ``--data synthetic`` runs the same on the synthetic
generator. Each fold: λ of soft-impute and ALS is tuned on a hold-out of the fold's training
ratings (`unrolled.demos.recsys`), the classical runs go to ``iterations``, the unrolled
networks start from the tuned classical algorithm and train for ``--seconds`` each on fresh
hold-outs of the training ratings; no test rating is seen before the final scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

import ranking
from common import merge_results
from unrolled.analysis.recsys import RANKING
from unrolled.data import RatingCompletion
from unrolled.demos.recsys import ALS_SETTINGS, LABELS, SOFT_IMPUTE, compare, summarise

RESULTS = Path(__file__).parent / "results" / "recsys.json"
FOLDS = 5

#: Surprise's benchmark on MovieLens-100K, 5-fold CV (REFERENCES.md).
PUBLISHED = {
    "source": "Surprise documentation, benchmark table, MovieLens-100K, 5-fold CV",
    "rmse": {"SVD": 0.934, "SVD++": 0.919, "NMF": 0.963, "KNNBaseline": 0.931,
             "BaselineOnly": 0.944},
}  # fmt: skip


def run_fold(data: str, fold: int, seconds: float, mf_epochs: int) -> dict[str, Any]:
    torch.manual_seed(fold)
    p = RatingCompletion(data, fold=fold, folds=FOLDS, seed=0)
    print(f"fold {fold}: {p!r}", flush=True)
    return compare(p, seconds, SOFT_IMPUTE, ALS_SETTINGS, mf_epochs=mf_epochs)


def markdown(data: dict[str, Any]) -> str:
    summary = data["summary"]
    lines = [
        "| method | RMSE | MAE | Recall@10 | NDCG@10 | best RMSE over its iterations | iterations to its best (±0.001) / layers | time (s) | published RMSE |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    published = {"biased-mf": "SVD 0.934", "biases": "BaselineOnly 0.944"}
    for name in LABELS:
        if name not in summary:
            continue
        s = summary[name]
        best, recall, ndcg = (f"{s[k]:.4f}" if k in s else "" for k in ("best_rmse", *RANKING))
        depth = (
            f"{s['layers']:.0f} layers" if "layers" in s
            else f"{s['iterations_to_best']:.1f}" if "iterations_to_best" in s else ""
        )  # fmt: skip
        # training for the networks; tuning λ plus the run for the classical algorithms
        seconds = s.get("train_seconds", s.get("seconds", 0.0) + s.get("tuning_seconds", 0.0))
        lines.append(
            f"| {s['label']} | {s['rmse']:.4f} ± {s['rmse_sd']:.4f} | {s['mae']:.4f} | {recall} | "
            f"{ndcg} | {best} | "
            f"{depth} | {seconds:.1f} | {published.get(name, '')} |"
        )
    lines.append("| SVD++ (Surprise, published) | | | | | | | | SVD++ 0.919 |")
    return "\n".join(lines)


def summarised(path: Path) -> dict[str, Any]:
    """The results file with its summary recomputed from the folds it holds."""
    data = json.loads(path.read_text())
    folds = [data["folds"][k] for k in sorted(data["folds"])]
    return merge_results(path, "summary", summarise(folds))


def ranking_part(args: argparse.Namespace) -> dict[str, Any]:
    if not args.table:
        peers = ranking.has_implicit()
        if not peers:
            print(
                "implicit is not installed (make peers): its ALS and BPR are left out", flush=True
            )
        for seed in args.seeds:
            result = ranking.run_seed(
                seed, tuple(args.depths), args.steps, peers, args.data, args.methods
            )
            for name, value in result.items():  # the methods not run keep their results
                merge_results(args.out, ("ranking", "seeds", str(seed), name), value)
        settings = {"data": args.data, "split": "temporal", "positive": 4.0,
                    "depths": args.depths, "steps": args.steps, "grids": ranking.GRIDS,
                    "bpr_epochs": ranking.BPR_EPOCHS, "implicit": peers}  # fmt: skip
        merge_results(args.out, ("ranking", "settings"), settings)
    data = json.loads(args.out.read_text())
    seeds = [data["ranking"]["seeds"][k] for k in sorted(data["ranking"]["seeds"])]
    data = merge_results(args.out, ("ranking", "summary"), ranking.summarise(seeds))
    summary = data["ranking"]["summary"]
    print(ranking.markdown(summary))
    print()
    print(ranking.depth_table(summary))
    print(f"wrote {ranking.plot(summary, args.out.parent / 'recsys_ranking.png')}")
    return data


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(FOLDS)))
    parser.add_argument("--seconds", type=float, default=90, help="training per unrolled model")
    parser.add_argument("--mf-epochs", type=int, default=20, help="biased MF's SGD epochs")
    parser.add_argument(
        "--data", default="movielens-100k", help="movielens-100k, synthetic or a file"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--part", choices=("rating", "ranking"), default="rating")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="ranking part")
    parser.add_argument(
        "--depths", type=int, nargs="+", default=list(ranking.DEPTHS), help="ranking part"
    )
    parser.add_argument(
        "--steps", type=int, default=ranking.STEPS, help="graph-filter-net's training steps"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=ranking.METHODS,
        default=list(ranking.METHODS),
        help="ranking part: the method groups to run (the others keep their stored results)",
    )
    args = parser.parse_args(argv)
    if args.part == "ranking":
        if any(K < 1 for K in args.depths):
            parser.error(f"--depths: expected positive depths, got {args.depths}")
        return ranking_part(args)
    if args.table:
        data = summarised(args.out)
        print(markdown(data))
        return data
    if any(not 0 <= f < FOLDS for f in args.folds):
        parser.error(f"--folds: expected fold numbers 0 to {FOLDS - 1}, got {args.folds}")
    for fold in args.folds:
        result = run_fold(args.data, fold, args.seconds, args.mf_epochs)
        data = merge_results(args.out, ("folds", str(fold)), result)
    settings = {"data": args.data, "seconds": args.seconds, "mf_epochs": args.mf_epochs,
                "soft_impute": SOFT_IMPUTE, "als": ALS_SETTINGS, "folds": sorted(data["folds"])}  # fmt: skip
    merge_results(args.out, "settings", settings)
    merge_results(args.out, "published", PUBLISHED)
    data = summarised(args.out)
    print(markdown(data))
    return data


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
