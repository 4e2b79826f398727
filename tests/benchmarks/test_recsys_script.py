"""The recommendation benchmark runs a fold end to end (on synthetic ratings, MovieLens not being
in CI), merges it, summarises over folds and prints its table with the published numbers."""

from __future__ import annotations

import json

from tests.benchmarks._load import load
from unrolled.data import synthetic_ratings


def _ratings_file(tmp_path):
    path = tmp_path / "ratings.inter"
    r = synthetic_ratings(50, 70, density=0.2, seed=3)
    rows = "".join(
        f"{r.user_ids[u]}\t{r.item_ids[i]}\t{v:g}\t{t}\n"
        for u, i, v, t in zip(r.users, r.items, r.values, r.timestamps, strict=True)
    )
    path.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + rows)
    return path


def test_a_fold_runs_merges_and_tabulates(tmp_path, monkeypatch, capsys):
    bench = load("recsys")
    small_si = {"rank": 4, "grid": (0.3,), "iterations": 5, "layers": 2, "lr": 1e-2}
    small_als = {"rank": 3, "grid": (0.1,), "iterations": 4, "layers": 2, "lr": 1e-2,
                 "missing_grid": ((0.3, -3.0),)}  # fmt: skip
    monkeypatch.setattr(bench, "SOFT_IMPUTE", small_si)
    monkeypatch.setattr(bench, "ALS_SETTINGS", small_als)
    path = _ratings_file(tmp_path)
    out = tmp_path / "recsys.json"
    argv = ["--folds", "0", "1", "--seconds", "1", "--mf-epochs", "2", "--data", str(path),
            "--out", str(out)]  # fmt: skip
    data = bench.main(argv)
    saved = json.loads(out.read_text())
    assert sorted(saved["folds"]) == ["0", "1"] and saved["summary"]["als-net"]["folds"] == 2
    assert saved["published"]["rmse"]["SVD"] == 0.934
    assert data["summary"]["biased-mf"]["rmse"] > 0
    table = capsys.readouterr().out
    assert "unrolled ALS (ours)" in table and "SVD 0.934" in table and "NDCG@10" in table
    assert "unrolled ALS, unrated weighted, ranking loss (ours)" in table
    assert 0 <= saved["summary"]["als-net"]["ndcg@10"] <= 1
    assert bench.main(["--table", "--out", str(out)])["summary"] == saved["summary"]


def test_the_ranking_part_tunes_on_validation_and_picks_the_depth_there(
    tmp_path, capsys, monkeypatch
):
    bench = load("recsys")
    ranking = bench.ranking
    monkeypatch.setitem(ranking.GRIDS, "item-knn", {"neighbours": (5, 20)})
    monkeypatch.setitem(ranking.GRIDS, "bpr-mf", {"lr": (1e-2,), "reg": (1e-4,)})
    monkeypatch.setattr(ranking, "BPR_EPOCHS", 20)
    out = tmp_path / "recsys.json"
    argv = ["--part", "ranking", "--seeds", "0", "1", "--depths", "1", "2", "--steps", "5",
            "--data", str(_ratings_file(tmp_path)), "--out", str(out)]  # fmt: skip
    data = bench.main(argv)["ranking"]
    assert sorted(data["seeds"]) == ["0", "1"]
    seed = data["seeds"]["0"]
    assert seed["item-knn"]["settings"]["neighbours"] in (5, 20) and seed["bpr-mf"]["grid"]
    # untrained-equal at K = 1 (a scale does not change a ranking) and per depth
    assert seed["graph-filter-net"]["1"]["recall@20"] == seed["graph-filter"]["1"]["recall@20"]
    summary = data["summary"]
    validation = {K: sum(s["graph-filter-net"][K]["validation_recall_at_20"]
                         for s in data["seeds"].values()) for K in ("1", "2")}  # fmt: skip
    assert summary["graph-filter-net"]["depth"] == int(max(validation, key=validation.get))
    assert summary["lightgcn"]["depth"] in (1, 2) and 0 <= summary["lightgcn"]["recall@20"] <= 1
    text = capsys.readouterr().out
    assert (
        "graph-filter-net" in text
        and "| K |" in text
        and (tmp_path / "recsys_ranking.png").exists()
    )
