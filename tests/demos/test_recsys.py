"""`unrolled demo --task recsys` and the comparison behind it (`unrolled.demos.recsys`): every
method is scored on the same test ratings, λ is tuned on training ratings only, and the
demo says when it falls back to synthetic ratings."""

from __future__ import annotations

import json

import torch

from unrolled.analysis import recsys as scoring
from unrolled.cli import main
from unrolled.data import RatingCompletion, synthetic_ratings
from unrolled.data import ratings as ratings_module
from unrolled.demos import recsys
from unrolled.demos.recsys import run_recsys_demo

SMALL_SI = {"rank": 6, "grid": (0.2, 0.5), "iterations": 12, "layers": 3, "lr": 1e-2}
SMALL_ALS = {"rank": 4, "grid": (0.05, 0.2), "iterations": 6, "layers": 2, "lr": 1e-2,
             "missing_grid": ((0.05, -1.0), (0.2, -2.0))}  # fmt: skip


def small_problem():
    return RatingCompletion(synthetic_ratings(80, 120, density=0.15, seed=5), seed=5)


def test_compare_scores_every_method_and_tunes_on_training_ratings(monkeypatch):
    p = small_problem()
    seen = []
    original = recsys.tune

    def spy(make, grid, problem, iterations):
        _x_val, y_val, A_val = problem.validation
        seen.append(A_val.gram(torch.ones_like(y_val)))
        return original(make, grid, problem, iterations)

    monkeypatch.setattr(recsys, "tune", spy)
    out = recsys.compare(p, 1.0, SMALL_SI, SMALL_ALS, mf_epochs=2, log=lambda _: None)
    assert set(out) == set(recsys.LABELS)
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)
    assert seen and all((mask[:, u, i] == 0).all() for mask in seen)  # tuning never sees tests
    for name in ("soft-impute", "als"):
        r = out[name]
        assert r["chosen"] in (SMALL_SI if name == "soft-impute" else SMALL_ALS)["grid"]
        assert 1 <= r["iterations_to_best"] <= r["iterations"]
        assert min(r["rmse_per_iteration"]) == r["best_rmse"]
        assert out[f"{name}-net"]["layers"] in (2, 3)
    # the ranking models: tuned on the ranking problem's validation lists, started from it
    assert tuple(out["als-missing"]["chosen"]) in SMALL_ALS["missing_grid"]
    assert set(out["als-missing"]["validation_recall"]) == {
        str(g) for g in SMALL_ALS["missing_grid"]
    }
    start = out["als-net-ranking"]["start"]
    assert (start["missing_weight"], start["missing_value"]) == tuple(out["als-missing"]["chosen"])
    assert start["reg"] == out["als"]["chosen"]
    assert out["biases"]["rmse"] < out["global-mean"]["rmse"]
    assert "recall@10" not in out["global-mean"]  # one score for every item ranks nothing
    for name in set(recsys.LABELS) - {"global-mean"}:
        assert 0 <= out[name]["recall@10"] <= 1 and 0 <= out[name]["ndcg@10"] <= 1
    summary = recsys.summarise([out, out])
    assert summary["als"]["rmse"] == round(out["als"]["rmse"], 4) and summary["als"]["rmse_sd"] == 0


def test_top_n_ranks_unrated_items_and_counts_liked_test_ratings():
    p = small_problem()
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)
    liked = torch.from_numpy(p.test_ratings.values) >= scoring.LIKED
    x = torch.ones((1, *p.mask.shape))
    x[0, u[liked], i[liked]] = 5.0
    x[0][p.mask] = 100.0  # training items score highest, but are never recommended
    perfect = scoring.scores(x, p, ranked=True)
    assert perfect["recall@10"] == 1.0 and perfect["ndcg@10"] == 1.0
    x[0, u[liked], i[liked]] = 0.0  # liked items last
    worst = scoring.scores(x, p, ranked=True)
    assert worst["recall@10"] < 0.1 and worst["ndcg@10"] < 0.1
    assert set(scoring.scores(x, p)) == {"rmse", "mae"}
    # the ranking problem's own metric scores the same lists
    ranking = p.with_target("ranking")
    for x_hat in (x, torch.randn_like(x)):
        listed = scoring.scores(x_hat, p, ranked=True)
        assert abs(ranking.metric(x_hat, ranking.test[0]) - listed["recall@10"]) < 1e-6
        assert abs(ranking.extra_metrics[0](x_hat, ranking.test[0]) - listed["ndcg@10"]) < 1e-6


def test_the_demo_falls_back_to_synthetic_ratings_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(ratings_module, "movielens_100k_path", lambda: None)
    monkeypatch.setattr("unrolled.demos.recsys.movielens_100k_path", lambda: None)
    monkeypatch.setattr("unrolled.demos.recsys.SOFT_IMPUTE", SMALL_SI)
    monkeypatch.setattr("unrolled.demos.recsys.ALS_SETTINGS", SMALL_ALS)
    small = synthetic_ratings(60, 90, density=0.15, seed=1)
    monkeypatch.setattr("unrolled.demos.recsys.synthetic_ratings", lambda *a, **k: small)
    lines = []
    results = run_recsys_demo(1, tmp_path, mf_epochs=2, log=lines.append)
    text = "\n".join(lines)
    assert "MovieLens-100K is not installed" in text and "synthetic ratings" in text
    assert "unrolled ALS (ours)" in text and "RMSE" in text
    saved = json.loads((tmp_path / "recsys.json").read_text())
    assert saved["data"] == "synthetic ratings"
    # the top-N half: both lists of one user, the held-out item marked where found
    assert "graph-filter-net" in text and "BPR-MF" in text and "held out" in text
    assert set(saved["top_n"]["lists"]) == {"graph-filter-net", "bpr-mf"}
    assert all(len(ranked) == 10 for ranked in saved["top_n"]["lists"].values())
    assert 0 <= saved["top_n"]["graph-filter-net"]["recall@20"] <= 1
    assert saved["results"]["als-net"]["rmse"] == results["als-net"]["rmse"]


def test_cli_runs_the_recsys_demo(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("unrolled.demos.recsys.SOFT_IMPUTE", SMALL_SI)
    monkeypatch.setattr("unrolled.demos.recsys.ALS_SETTINGS", SMALL_ALS)
    small = synthetic_ratings(60, 90, density=0.15, seed=2)
    monkeypatch.setattr("unrolled.demos.recsys.movielens_100k_path", lambda: None)
    monkeypatch.setattr("unrolled.demos.recsys.synthetic_ratings", lambda *a, **k: small)
    assert main(["demo", "--task", "recsys", "--seconds", "1", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "soft-impute" in out and "global mean" in out
