"""The ranking part of benchmarks/recsys.py (issue 20): top-N recommendation from MovieLens-100K's
implicit feedback (ratings >= 4), each user's latest interaction the test and the one before it
the validation (`unrolled.data.ImplicitRanking`, split "temporal").

Every method is tuned on the validation interactions (its grid below) with the training
interactions alone, then scores the test users from the training and validation interactions:
the learned baselines (BPR-MF, `implicit`'s ALS and BPR) are refitted on both with their tuned
settings, item-kNN's similarity is built from both; the graph filters propagate on the item
graph of the training interactions and see the validation item in the test users' histories.
The metric code is one (`unrolled.analysis.ranking`) for all.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor

import unrolled as ur
from unrolled.algorithms import GraphFilter, ImplicitALS, PPRPropagation
from unrolled.analysis.ranking import ranking_scores
from unrolled.data import ImplicitRanking
from unrolled.recsys import fit_bpr_mf, item_knn
from unrolled.train import fit

#: The depths K of the graph filters.
DEPTHS = (1, 2, 3, 4, 5, 6)
#: Training steps of graph-filter-net at each depth (its recipe otherwise).
STEPS = 600
#: The settings each peer is tuned over on validation Recall@20. Each grid reaches past the best
#: settings of the last run on every side it could (the item-kNN, implicit ALS and BPR grids
#: were widened downwards, BPR-MF's regulariser and epochs too, when their best sat on an edge).
GRIDS: dict[str, dict[str, tuple]] = {
    "item-knn": {"neighbours": (3, 5, 10, 20, 50, 100, 200, 400, 1682)},
    "bpr-mf": {"lr": (1e-3, 1e-2), "reg": (1e-6, 1e-5, 1e-4)},
    "implicit-als": {"factors": (32, 64, 128), "regularization": (0.001, 0.01, 0.1, 1.0),
                     "alpha": (1.0, 5.0, 20.0)},
    "implicit-bpr": {"factors": (64,), "learning_rate": (0.005, 0.01, 0.05),
                     "regularization": (1e-4, 0.001, 0.01), "iterations": (50, 100, 300)},
}  # fmt: skip
#: BPR-MF's most epochs (the best epoch is chosen on validation every 10).
BPR_EPOCHS = 300
LABELS = {
    "popularity": "popularity",
    "item-knn": "item-kNN (cosine)",
    "bpr-mf": "BPR-MF (ours)",
    "implicit-als": "implicit ALS (Hu et al. 2008)",
    "implicit-bpr": "implicit BPR",
    "ppr": "personalised PageRank (α = 0.1)",
    "graph-filter": "graph filter, c_k = 1 (K = 1: GF-CF linear)",
    "graph-filter-net": "graph-filter-net (learned c_k)",
    "lightgcn": "lightgcn (64-d embeddings, BPR)",
    "ials": "implicit ALS (ours, 32 factors)",
    "implicit-als-net": "implicit-als-net (learned α_k, λ_k)",
}
#: lightgcn's depths, chosen on validation: K = 1 is the paper's 3 layers on the bipartite
#: graph (a hop on the item graph is two of them), K = 2 its 5; the paper's 64 dimensions.
LIGHTGCN_DEPTHS = (1, 2)
LIGHTGCN_DIM = 64
#: Our implicit ALS's iterations (its defaults otherwise), and implicit-als-net's depths.
IALS_DEPTHS = (1, 2, 3, 5, 10, 15)
IALS_NET_DEPTHS = (3,)
#: The methods with a depth K, summarised at the depth of best validation.
BY_DEPTH = ("graph-filter", "ppr", "graph-filter-net", "lightgcn", "ials", "implicit-als-net")


def _grid(settings: dict[str, tuple]) -> list[dict[str, Any]]:
    return [dict(zip(settings, v, strict=True)) for v in itertools.product(*settings.values())]


def _tune(
    grid: Iterable[dict[str, Any]], validate: Callable[[dict[str, Any]], tuple[float, Any]]
) -> tuple[dict[str, Any], float, list[dict[str, Any]]]:
    """The settings of the grid with the best validation Recall@20 (``validate`` gives it and
    anything to keep), that score, and every point tried."""
    tried, best = [], None
    for settings in grid:
        score, extra = validate(settings)
        tried.append({**settings, "validation_recall_at_20": score})
        if best is None or score > best[1]:
            best = ({**settings, **(extra or {})}, score)
    assert best is not None
    return best[0], best[1], tried


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _record(scores: Tensor, x: Tensor, seconds: float, **extra: Any) -> dict[str, Any]:
    return {**ranking_scores(scores, x), "train_seconds": seconds, **extra}


def popularity(p: ImplicitRanking) -> dict[str, Any]:
    (xv, _), (xt, _) = p.validation, p.test
    score = p.metric(p.R.sum(0).expand_as(xv), xv)
    return _record(p.seen.sum(0).expand_as(xt), xt, 0.0, validation_recall_at_20=score)


def knn(p: ImplicitRanking) -> dict[str, Any]:
    (xv, yv), (xt, yt) = p.validation, p.test

    def validate(s: dict[str, Any]) -> tuple[float, None]:
        return p.metric(yv @ item_knn(p.R, **s), xv), None

    best, score, tried = _tune(_grid(GRIDS["item-knn"]), validate)
    S, seconds = _timed(item_knn, p.seen, **best)
    return _record(yt @ S, xt, seconds, settings=best, validation_recall_at_20=score, grid=tried)


def bpr_mf(p: ImplicitRanking, seed: int) -> dict[str, Any]:
    (xv, _), (xt, _) = p.validation, p.test
    every = 10

    def validate(s: dict[str, Any]) -> tuple[float, dict[str, int]]:
        curve: list[float] = []

        def score(model: Any) -> float:
            curve.append(p.metric(model.scores(p.held_out_users["validation"]), xv))
            return curve[-1]

        fit_bpr_mf(p.R, epochs=BPR_EPOCHS, seed=seed, validate=score, every=every, **s)
        return max(curve), {"epochs": every * (int(np.argmax(curve)) + 1)}

    best, score, tried = _tune(_grid(GRIDS["bpr-mf"]), validate)
    model, seconds = _timed(fit_bpr_mf, p.seen, seed=seed, **best)
    scores = model.scores(p.held_out_users["test"])
    return _record(scores, xt, seconds, settings=best, validation_recall_at_20=score, grid=tried)


def _implicit(p: ImplicitRanking, kind: str, seed: int) -> dict[str, Any]:
    """`implicit`'s ALS or BPR (CPU), tuned and refitted as BPR-MF; its factors score the
    users with the same metric code."""
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    cls = AlternatingLeastSquares if kind == "implicit-als" else BayesianPersonalizedRanking
    (xv, _), (xt, _) = p.validation, p.test

    def scores(R: Tensor, users: Tensor, s: dict[str, Any]) -> Tensor:
        model = cls(**s, random_state=seed)
        model.fit(sp.csr_matrix(R.numpy()), show_progress=False)
        U, V = torch.from_numpy(model.user_factors), torch.from_numpy(model.item_factors)
        return (U[users] @ V.mT).double()

    def validate(s: dict[str, Any]) -> tuple[float, None]:
        return p.metric(scores(p.R, p.held_out_users["validation"], s), xv), None

    best, score, tried = _tune(_grid(GRIDS[kind]), validate)
    out, seconds = _timed(scores, p.seen, p.held_out_users["test"], best)
    return _record(out, xt, seconds, settings=best, validation_recall_at_20=score, grid=tried)


def graph_filters(
    problem: Callable[[], ImplicitRanking], depths: tuple[int, ...], steps: int, seed: int
) -> dict[str, dict[str, Any]]:
    """Per depth K: the classical filter (c_k = 1), personalised PageRank after K steps, and
    graph-filter-net trained at that depth (its recipe, ``steps`` steps, each depth on the same
    sample stream of a fresh ``problem()``)."""
    p = problem()
    (xv, yv), (xt, yt) = p.validation, p.test
    A = p.operator
    out: dict[str, dict[str, Any]] = {"graph-filter": {}, "ppr": {}, "graph-filter-net": {}}
    for name, algorithm in (("graph-filter", GraphFilter()), ("ppr", PPRPropagation())):
        _, validation = algorithm.run(yv, A, iterations=max(depths), trace=True)
        _, test = algorithm.run(yt, A, iterations=max(depths), trace=True)
        for K in depths:
            score = p.metric(validation[K - 1], xv)
            out[name][str(K)] = _record(test[K - 1], xt, 0.0, validation_recall_at_20=score)
    for K in depths:
        out["graph-filter-net"][str(K)] = trained(
            problem, "graph-filter-net", steps, seed, layers=K
        )
    return out


def lightgcn(problem: Callable[[], ImplicitRanking], steps: int, seed: int) -> dict[str, Any]:
    """lightgcn at each of `LIGHTGCN_DEPTHS`, trained by its recipe (BPR) for ``steps``, with
    its untrained validation score beside."""
    return {
        str(K): trained(
            problem, "lightgcn", steps, seed, untrained=True, layers=K, dim=LIGHTGCN_DIM
        )
        for K in LIGHTGCN_DEPTHS
    }


def implicit_als(
    problem: Callable[..., ImplicitRanking], steps: int, seed: int
) -> dict[str, dict[str, Any]]:
    """Our `ImplicitALS` (its defaults: the `implicit` library's tuned α, λ and factors) after
    each of `IALS_DEPTHS` iterations, timed on the test users; implicit-als-net trained by its
    recipe for ``steps`` at each of `IALS_NET_DEPTHS` on batches that hide their targets from
    the graph (``hide_from_graph``, which the recipe asks for), its untrained score beside."""
    p = problem()
    (xv, yv), (xt, yt) = p.validation, p.test
    A = p.operator
    _, validation = ImplicitALS().run(yv, A, iterations=max(IALS_DEPTHS), trace=True)
    classical = {}
    for K in IALS_DEPTHS:  # the test runs apart: each is timed
        score = p.metric(validation[K - 1], xv)
        scores, seconds = _timed(ImplicitALS().run, yt, A, iterations=K)
        classical[str(K)] = _record(scores, xt, seconds, validation_recall_at_20=score)
    hidden = functools.partial(problem, hide_from_graph=True)  # its recipe asks for it
    net = {
        str(K): trained(hidden, "implicit-als-net", steps, seed, untrained=True, layers=K)
        for K in IALS_NET_DEPTHS
    }
    return {"ials": classical, "implicit-als-net": net}


def trained(
    problem: Callable[[], ImplicitRanking],
    name: str,
    steps: int,
    seed: int,
    untrained: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """Model ``name`` (``kwargs`` to `unrolled.create`) trained by its recipe for ``steps`` on a
    fresh ``problem()``'s stream, scored on the test; its learned values that are not matrices
    (the embeddings) recorded beside, and with ``untrained`` its validation score before."""
    p = problem()
    (xv, yv), (xt, yt) = p.validation, p.test
    torch.manual_seed(seed)
    net = ur.create(name, operator=p.operator, **kwargs)
    extra: dict[str, Any] = {}
    if untrained:
        with torch.no_grad():
            extra["untrained_validation_recall_at_20"] = p.metric(net(yv), xv)
    _, seconds = _timed(fit, net, problem(), max_steps=steps, max_seconds=None, progress=False)
    with torch.no_grad():
        score = p.metric(net(yv), xv)
        scores = net(yt)
    learned = {k: v.detach().tolist() for k, v in net.param_values().items() if v.ndim < 2}
    return _record(scores, xt, seconds, validation_recall_at_20=score, **extra, learned=learned)


#: The method groups of a seed, in order; ``--methods`` runs some and keeps the others' stored
#: results. "implicit" is the library's ALS and BPR, "graph-filters" the classical filter,
#: personalised PageRank and graph-filter-net per depth, "ials" our implicit ALS and
#: implicit-als-net per depth.
METHODS = ("popularity", "item-knn", "bpr-mf", "implicit", "graph-filters", "lightgcn", "ials")


def run_seed(
    seed: int,
    depths: tuple[int, ...],
    steps: int,
    peers: bool,
    data: str = "movielens-100k",
    methods: Iterable[str] = METHODS,
) -> dict[str, Any]:
    """The ``methods`` (groups of `METHODS`) on the temporal split, training seeded by
    ``seed``: a result per method name, and the split's counts."""

    def problem(**kwargs: Any) -> ImplicitRanking:
        return ImplicitRanking(data, positive=4.0, split="temporal", seed=seed, **kwargs)

    p = problem()
    groups: dict[str, Callable[[], dict[str, Any]]] = {
        "popularity": lambda: {"popularity": popularity(p)},
        "item-knn": lambda: {"item-knn": knn(p)},
        "bpr-mf": lambda: {"bpr-mf": bpr_mf(p, seed)},
        "implicit": lambda: (
            {kind: _implicit(p, kind, seed) for kind in ("implicit-als", "implicit-bpr")}
            if peers
            else {}
        ),
        "graph-filters": lambda: graph_filters(problem, depths, steps, seed),
        "lightgcn": lambda: {"lightgcn": lightgcn(problem, steps, seed)},
        "ials": lambda: implicit_als(problem, steps, seed),
    }
    result: dict[str, Any] = {"counts": p.counts()}
    for group in methods:
        torch.manual_seed(seed)
        result.update(groups[group]())
        print(f"seed {seed}: {group} done", flush=True)
    return result


def has_implicit() -> bool:
    return importlib.util.find_spec("implicit") is not None


#: The scores summarised over seeds.
KEYS = ("recall@10", "recall@20", "ndcg@10", "ndcg@20", "coverage@20", "train_seconds",
        "validation_recall_at_20")  # fmt: skip


def _stats(records: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in KEYS:
        values = np.array([r[key] for r in records])
        out[key], out[f"{key}_sd"] = (
            float(values.mean()),
            float(values.std(ddof=1) if len(values) > 1 else 0.0),
        )
    return out


def summarise(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds of each method; for the graph filters per depth,
    and at the depth of best mean validation Recall@20 (chosen as the other methods' settings
    are: never on the test)."""
    summary: dict[str, Any] = {"seeds": len(seeds)}
    for name in LABELS:
        if name not in seeds[0]:
            continue
        if name in BY_DEPTH:
            depths = sorted(seeds[0][name], key=int)
            per_depth = {K: _stats([s[name][K] for s in seeds]) for K in depths}
            validation = {
                K: np.mean([s[name][K]["validation_recall_at_20"] for s in seeds]) for K in depths
            }
            best = max(depths, key=validation.__getitem__)
            summary[name] = {**per_depth[best], "depth": int(best), "by_depth": per_depth}
        else:
            summary[name] = _stats([s[name] for s in seeds])
        summary[name]["label"] = LABELS[name]
    return summary


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "| method | Recall@10 | Recall@20 | NDCG@10 | NDCG@20 | coverage@20 | training (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in LABELS:
        if name not in summary:
            continue
        s = summary[name]
        label = s["label"] + (f", K = {s['depth']}" if "depth" in s else "")
        cells = [f"{s[k]:.4f} ± {s[k + '_sd']:.4f}" for k in KEYS[:4]]
        lines.append(
            f"| {label} | {' | '.join(cells)} | {s['coverage@20']:.3f} | {s['train_seconds']:.1f} |"
        )
    return "\n".join(lines)


def depth_table(summary: dict[str, Any]) -> str:
    names = [n for n in ("graph-filter", "ppr", "graph-filter-net") if n in summary]
    depths = sorted(summary[names[0]]["by_depth"], key=int)
    lines = [
        "| K | " + " | ".join(LABELS[n] for n in names) + " |",
        "| --- " * (len(names) + 1) + "|",
    ]
    for K in depths:
        cells = [summary[n]["by_depth"][K] for n in names]
        lines.append(
            f"| {K} | "
            + " | ".join(f"{c['recall@20']:.4f} ± {c['recall@20_sd']:.4f}" for c in cells)
            + " |"
        )
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Any) -> Any:
    """Recall@20 against the depth K: the multi-hop effect, beside the best flat baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, style in (("graph-filter-net", "o-"), ("graph-filter", "s--"), ("ppr", "^:")):
        if name not in summary:
            continue
        by = summary[name]["by_depth"]
        depths = sorted(by, key=int)
        ax.errorbar([int(K) for K in depths], [by[K]["recall@20"] for K in depths],
                    yerr=[by[K]["recall@20_sd"] for K in depths], fmt=style, capsize=3,
                    label=LABELS[name])  # fmt: skip
    for name, colour in (("bpr-mf", "C3"), ("implicit-als", "C4"), ("implicit-bpr", "C5"),
                         ("item-knn", "C6")):  # fmt: skip
        if name in summary:
            ax.axhline(summary[name]["recall@20"], color=colour, lw=1, label=LABELS[name])
    ax.set_xlabel("propagation depth K (hops on the item graph)")
    ax.set_ylabel("test Recall@20")
    ax.set_title("MovieLens-100K, temporal split (mean ± sd over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
