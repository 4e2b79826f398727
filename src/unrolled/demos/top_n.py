"""The top-N half of `unrolled demo --task recsys`: graph-filter-net beside BPR-MF on implicit
feedback (ratings >= 4, each user's latest interaction held out), and one user's two top-10
lists side by side. The measured comparison over seeds and peers is benchmarks/recsys.py
--part ranking."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..analysis.ranking import ranking_scores, top_n
from ..core import create
from ..data import ImplicitRanking, Ratings, movielens_100k_titles
from ..recsys import BPRMF, fit_bpr_mf
from ..train import fit

#: The depth of graph-filter-net in the demo.
DEPTH = 4
#: BPR-MF's settings (`unrolled.recsys.fit_bpr_mf`), early-stopped on the validation item.
BPR = {"factors": 64, "lr": 1e-2, "reg": 1e-4, "epochs": 100}
LIST = 10


def _bpr(p: ImplicitRanking, seed: int) -> BPRMF:
    x, _ = p.validation
    users = p.held_out_users["validation"]
    return fit_bpr_mf(p.R, **BPR, seed=seed, validate=lambda m: p.metric(m.scores(users), x))


def top_n_demo(
    ratings: Ratings | str,
    seconds: float,
    seed: int = 0,
    log: Callable[[str], None] = print,
    train: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train graph-filter-net (`DEPTH` hops, its recipe, ``seconds``) and BPR-MF (`BPR`) on the
    temporal split of ``ratings``; log both test scores and the top-`LIST` lists of one test
    user (the first whose held-out item either list finds), the held-out item marked.

    Returns:
        ``{"graph-filter-net": scores, "bpr-mf": scores, "user": ..., "lists": ...}``.
    """
    p = ImplicitRanking(ratings, positive=4.0, split="temporal", seed=seed)
    x, y = p.test
    torch.manual_seed(seed)
    net = create("graph-filter-net", operator=p.operator, layers=DEPTH)
    start = time.perf_counter()
    fit(net, p, max_seconds=seconds, progress=False, **(train or {}))
    net_seconds = time.perf_counter() - start
    net.cpu()
    start = time.perf_counter()
    mf = _bpr(p, seed)
    mf_seconds = time.perf_counter() - start
    with torch.no_grad():
        scores = {"graph-filter-net": net(y), "bpr-mf": mf.scores(p.held_out_users["test"])}
    out: dict[str, Any] = {}
    for name, seconds_taken in (("graph-filter-net", net_seconds), ("bpr-mf", mf_seconds)):
        out[name] = {**ranking_scores(scores[name], x), "train_seconds": round(seconds_taken, 1)}
    log(f"Top-N on implicit feedback ({p.describe()})")
    log(f"{'method':<34}{'Rec@10':>8}{'Rec@20':>8}{'NDCG@20':>8}{'time (s)':>10}")
    for name, label in (
        ("graph-filter-net", f"graph-filter-net, K = {DEPTH}"),
        ("bpr-mf", "BPR-MF"),
    ):
        r = out[name]
        log(f"{label:<34}{r['recall@10']:>8.4f}{r['recall@20']:>8.4f}{r['ndcg@20']:>8.4f}"
            f"{r['train_seconds']:>10.1f}")  # fmt: skip
    lists = {name: top_n(s, x, LIST) for name, s in scores.items()}
    held = x == 1
    found = torch.zeros(len(x), dtype=torch.bool)
    for ranked in lists.values():
        found |= held.gather(1, ranked).any(1)
    row = int(found.nonzero()[0, 0]) if bool(found.any()) else 0
    out.update(_user_lists(p, row, {n: r[row].tolist() for n, r in lists.items()}, log))
    return out


def _user_lists(
    p: ImplicitRanking, row: int, lists: dict[str, list[int]], log: Callable[[str], None]
) -> dict[str, Any]:
    data = p.interactions
    titles = movielens_100k_titles() if len(data.item_ids) == 1682 else {}

    def name(i: int) -> str:
        raw = str(data.item_ids[i])
        return titles.get(raw, f"item {raw}")[:38]

    user = int(p.held_out_users["test"][row])
    x, y = p.test
    held = set(torch.nonzero(x[row] == 1)[:, 0].tolist())
    history = torch.nonzero(y[row] > 0)[:, 0].tolist()
    log(f"User {data.user_ids[user]}: {len(history)} items seen; held out: "
        f"{', '.join(name(i) for i in sorted(held))}")  # fmt: skip
    log(f"  {'#':>2}  {'graph-filter-net':<40}  {'BPR-MF':<40}")
    for k in range(LIST):
        cells = []
        for n in ("graph-filter-net", "bpr-mf"):
            i = lists[n][k]
            cells.append(f"{'* ' if i in held else ''}{name(i)}")
        log(f"  {k + 1:>2}  {cells[0]:<40}  {cells[1]:<40}")
    log("  (* the held-out item)")
    return {"user": str(data.user_ids[user]), "lists": {n: [str(data.item_ids[i]) for i in ls]
                                                        for n, ls in lists.items()}}  # fmt: skip


__all__ = ["BPR", "DEPTH", "top_n_demo"]
