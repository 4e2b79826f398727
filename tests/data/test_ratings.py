"""The MovieLens readers, id remapping, the splits, the synthetic generator and the training
problem, whose test ratings must never reach training."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from unrolled.data import (
    RatingCompletion,
    Ratings,
    kfold,
    movielens_100k,
    read_ratings,
    synthetic_ratings,
    temporal_holdout,
)
from unrolled.data import ratings as ratings_module

ROWS = [  # user, item, rating, timestamp: ids out of order, user 10 after user 9
    (196, 242, 3, 881250949),
    (10, 302, 4, 891717742),
    (9, 377, 1, 878887116),
    (196, 51, 2, 880606923),
    (9, 242, 5, 886397596),
    (10, 51, 3, 884182806),
]


def write(path, fmt):
    if fmt == "udata":
        text = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ROWS)
    elif fmt == "dat":
        text = "".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in ROWS)
    else:
        header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        text = header + "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ROWS)
    path.write_text(text)
    return path


NAMES = {"udata": "u.data", "dat": "ratings.dat", "inter": "ml-100k.inter"}


@pytest.mark.parametrize("fmt", ["udata", "dat", "inter"])
def test_every_format_reads_the_same_ratings_with_numeric_id_order(tmp_path, fmt):
    r = read_ratings(write(tmp_path / NAMES[fmt], fmt))
    assert len(r) == 6 and r.shape == (3, 4)
    assert list(r.user_ids) == ["9", "10", "196"]  # numeric, not lexicographic, order
    assert list(r.item_ids) == ["51", "242", "302", "377"]
    for n, (u, i, v, t) in enumerate(ROWS):
        assert r.user_ids[r.users[n]] == str(u) and r.item_ids[r.items[n]] == str(i)
        assert r.values[n] == v and r.timestamps[n] == t
    values, mask = r.matrix()
    assert values.shape == mask.shape == (3, 4) and int(mask.sum()) == 6
    assert values[r.users[0], r.items[0]] == 3.0


def test_the_same_ratings_in_two_formats_get_the_same_indices(tmp_path):
    a = read_ratings(write(tmp_path / "u.data", "udata"))
    b = read_ratings(write(tmp_path / "x.inter", "inter"))
    np.testing.assert_array_equal(a.users, b.users)
    np.testing.assert_array_equal(a.items, b.items)


def test_malformed_files_name_the_line_and_the_fields(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t2\t3\t4\n1\t2\t3\n")
    with pytest.raises(ValueError, match="line 2: expected 4 fields"):
        read_ratings(path)
    path.write_text("1\t2\tfive\t4\n")
    with pytest.raises(ValueError, match="not a number"):
        read_ratings(path)
    bad = tmp_path / "r.inter"
    bad.write_text("user_id:token\titem_id:token\n1\t2\n")
    with pytest.raises(ValueError, match="'rating' column"):
        read_ratings(bad)
    with pytest.raises(ValueError, match="format: cannot tell"):
        read_ratings(write(tmp_path / "ratings.csv", "udata"))
    with pytest.raises(ValueError, match="format: expected one of"):
        read_ratings(path, format="csv")
    with pytest.raises(FileNotFoundError, match="no ratings file"):
        read_ratings(tmp_path / "missing.data")


def test_ratings_check_their_arrays():
    with pytest.raises(ValueError, match="values: expected finite"):
        Ratings.from_ids([1], [1], [np.nan])
    r = Ratings.from_ids([1, 2], [1, 1], [3, 4])
    with pytest.raises(ValueError, match="items: expected 2 entries"):
        Ratings(r.users, r.items[:1], r.values, None, r.user_ids, r.item_ids)


def test_movielens_is_found_in_a_recbole_install_without_importing_it(tmp_path, monkeypatch):
    folder = tmp_path / "recbole" / "dataset_example" / "ml-100k"
    folder.mkdir(parents=True)
    (tmp_path / "recbole" / "__init__.py").write_text("raise ImportError('never imported')\n")
    write(folder / "ml-100k.inter", "inter")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "recbole", raising=False)
    assert ratings_module.movielens_100k_path() == folder / "ml-100k.inter"
    assert len(movielens_100k()) == 6
    assert "recbole" not in sys.modules


def test_missing_movielens_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(ratings_module, "movielens_100k_path", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps recbole==1\.2\.1"):
        movielens_100k()


def test_kfold_parts_are_disjoint_cover_everything_and_repeat_with_the_seed():
    r = synthetic_ratings(50, 80, density=0.1)
    splits = kfold(r, folds=5, seed=3)
    tests = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tests), np.arange(len(r)))
    for train, test in splits:
        assert not np.intersect1d(train, test).size and len(train) + len(test) == len(r)
        assert abs(len(test) - len(r) / 5) <= 1
    again = kfold(r, folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    with pytest.raises(ValueError, match="folds: expected 2"):
        kfold(r, folds=1)


def test_temporal_holdout_takes_each_users_latest_ratings():
    r = synthetic_ratings(40, 60, density=0.1, seed=1)
    train, test = temporal_holdout(r, per_user=2)
    assert not np.intersect1d(train, test).size and len(train) + len(test) == len(r)
    for u in range(r.n_users):
        mine = np.flatnonzero(r.users == u)
        held = np.intersect1d(mine, test)
        if len(mine) <= 2:
            assert not held.size
            continue
        assert len(held) == 2
        kept = np.setdiff1d(mine, held)
        assert r.timestamps[held].min() >= r.timestamps[kept].max()
    no_time = Ratings(r.users, r.items, r.values, None, r.user_ids, r.item_ids)
    with pytest.raises(ValueError, match="needs timestamps"):
        temporal_holdout(no_time)


def test_synthetic_ratings_follow_their_settings():
    r = synthetic_ratings(100, 200, density=0.05, seed=0)
    assert r.shape == (100, 200)
    assert np.bincount(r.users, minlength=100).min() >= 1
    assert np.bincount(r.items, minlength=200).min() >= 1
    assert set(np.unique(r.values)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert abs(len(r) - 1000) <= 300  # the guaranteed pairs add at most users + items
    popular = np.bincount(r.items, minlength=200)
    assert popular.max() > 5 * np.median(popular)  # a long tail
    mar = synthetic_ratings(100, 200, density=0.05, popularity=0, mnar=0, seed=0)
    mnar = synthetic_ratings(100, 200, density=0.05, popularity=0, mnar=1.5, seed=0)
    assert mnar.values.mean() > mar.values.mean() + 0.3  # high ratings seen more often
    with pytest.raises(ValueError, match="density"):
        synthetic_ratings(density=0)


@pytest.mark.parametrize("target", ["ratings", "ranking"])
@pytest.mark.parametrize("split", ["kfold", "temporal"])
def test_no_test_rating_reaches_training(split, target):
    r = synthetic_ratings(60, 90, density=0.1, seed=2)
    p = RatingCompletion(r, split=split, holdout=0.2, seed=1, target=target)
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)
    assert len(p.test_ratings) > 0
    x, y, A = p.sample(4)
    x_val, y_val, A_val = p.validation
    y_all, A_all = p.inputs()
    for values, operator, truth in ((y, A, x), (y_val, A_val, x_val), (y_all, A_all, None)):
        seen = operator.gram(torch.ones_like(values))
        assert (values[:, u, i] == 0).all() and (seen[:, u, i] == 0).all()
        if truth is not None:  # a test rating is no truth: unrated, as far as training knows
            assert (truth[:, u, i].isnan() if target == "ratings" else truth[:, u, i] == 0).all()
    assert not p.mask[u, i].any() and (p.values[u, i] == 0).all()
    # hidden and visible ratings split the training ratings
    visible = A.gram(torch.ones_like(y)) > 0
    hidden = ~torch.isnan(x) if target == "ratings" else p.mask & ~visible
    assert not (hidden & visible).any()
    assert torch.equal(hidden | visible, p.mask.expand_as(hidden))
    assert 0.1 < hidden.sum() / p.mask.sum() / 4 < 0.3


def test_the_ranking_target_is_which_unseen_items_a_user_liked():
    r = synthetic_ratings(60, 90, density=0.1, seed=2)
    ratings = RatingCompletion(r, holdout=0.3, seed=1)
    p = ratings.with_target("ranking")
    assert p.target == "ranking" and p.metric.key == "recall_at_10"
    assert torch.equal(p.mask, ratings.mask) and torch.equal(p.test[1], ratings.test[1])
    x, y, A = p.sample(3)
    visible = A.gram(torch.ones_like(y)) > 0
    liked = p.mask & ~visible & (p.values >= p.liked)
    assert x[visible].isnan().all() and not x[~visible].isnan().any()
    assert torch.equal(x[~visible] == 1, liked[~visible]) and x.nansum() > 0
    x_test = p.test[0][0]
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)
    held_out = torch.zeros_like(p.mask)
    held_out[u, i] = torch.from_numpy(p.test_ratings.values) >= 4
    assert x_test[p.mask].isnan().all() and torch.equal(x_test[~p.mask] == 1, held_out[~p.mask])
    assert "top-10 ranking" in p.describe() and "target='ranking'" in repr(p)


def test_rating_completion_checks_its_arguments():
    r = synthetic_ratings(30, 40, density=0.2)
    with pytest.raises(ValueError, match="split: expected one of"):
        RatingCompletion(r, split="random")
    with pytest.raises(ValueError, match="fold: expected 0 to 4"):
        RatingCompletion(r, fold=5)
    with pytest.raises(ValueError, match="holdout"):
        RatingCompletion(r, holdout=1.0)
    with pytest.raises(ValueError, match="ratings: expected Ratings"):
        RatingCompletion("no-such-dataset")
    with pytest.raises(ValueError, match="target: expected one of"):
        RatingCompletion(r, target="rank")
    with pytest.raises(ValueError, match="liked: expected a finite rating, got 'high'"):
        RatingCompletion(r, target="ranking", liked="high")
    with pytest.raises(ValueError, match="top_k"):
        RatingCompletion(r, target="ranking", top_k=0)


def test_the_training_stream_can_move_and_resumes_from_its_generator():
    p = RatingCompletion(synthetic_ratings(30, 40, density=0.2, seed=1), seed=3)
    assert p.to("cpu") is p and p.generator.device.type == "cpu"
    state = p.generator.get_state()
    first = p.sample(2)[0]
    p.generator.set_state(state)  # what an exact resume does
    assert torch.allclose(p.sample(2)[0], first, rtol=0, atol=0, equal_nan=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_to_a_gpu_draws_there():
    p = RatingCompletion(synthetic_ratings(30, 40, density=0.2, seed=1), seed=3).to("cuda")
    x, y, A = p.sample(2)
    assert x.is_cuda and y.is_cuda and A.mask.is_cuda and p.validation[0].device.type == "cpu"
