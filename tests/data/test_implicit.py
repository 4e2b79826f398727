"""ImplicitRanking: splits that keep every held-out interaction out of training, samples that
hide some of a user's history, and the ranking metric and loss that score them."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from unrolled.data import ImplicitRanking, synthetic_ratings
from unrolled.metrics import ndcg_metric, recall_metric
from unrolled.train.losses import layer_losses


@pytest.mark.parametrize("split", ["temporal", "random"])
def test_no_held_out_interaction_reaches_training(split):
    p = ImplicitRanking(synthetic_ratings(60, 40, density=0.3, seed=2), positive=3.0, split=split)
    train = {
        (int(u), int(i))
        for u, i in zip(p.parts["train"].users, p.parts["train"].items, strict=True)
    }
    for name in ("validation", "test"):
        part = p.parts[name]
        held = {(int(u), int(i)) for u, i in zip(part.users, part.items, strict=True)}
        assert held and not held & train, name
    assert int(p.R.sum()) == len(train)  # the operator's graph is built from these alone
    x, y = p.test
    assert torch.isnan(x[y > 0]).all() and not torch.isnan(x[y == 0]).any()
    assert int((x == 1).sum()) == len(p.parts["test"])
    for name, part in (("validation", p.validation), ("test", p.test)):
        users = p.held_out_users[name]  # the rows a user-factor model scores
        assert torch.equal(part[1], (p.R if name == "validation" else p.seen)[users])
    assert not (p.seen - p.R).any() or int((p.seen - p.R).sum()) == len(p.parts["validation"])
    counts = p.counts()
    assert counts["test_interactions"] == len(p.parts["test"]) and counts["users"] == 60


def test_temporal_split_holds_out_each_users_latest():
    ratings = synthetic_ratings(30, 40, density=0.4, seed=3)
    p = ImplicitRanking(ratings, positive=None)
    parts = p.parts
    for u in set(parts["test"].users.tolist()):
        latest = parts["test"].timestamps[parts["test"].users == u].min()
        earlier = parts["train"].timestamps[parts["train"].users == u]
        assert (earlier <= latest).all()


def test_samples_hide_some_of_a_history_and_show_the_rest():
    p = ImplicitRanking(synthetic_ratings(50, 40, density=0.3, seed=4), positive=None, seed=1)
    x, y = p.sample(64)
    hidden = (x == 1).sum(1)
    assert (hidden >= 1).all() and (y.sum(1) >= 1).all()
    assert torch.equal(torch.isnan(x), y > 0)
    again = ImplicitRanking(synthetic_ratings(50, 40, density=0.3, seed=4), positive=None, seed=1)
    assert torch.equal(again.sample(64)[1], y)  # seeded


def test_latest_samples_hide_each_users_most_recent_interactions():
    p = ImplicitRanking(synthetic_ratings(50, 40, density=0.3, seed=4), positive=None, seed=1)
    assert p.hide == "latest"  # the temporal split's default
    train = p.parts["train"]
    x, y = p.sample(64)
    matches, counts = 0, set()
    for row_x, row_y in zip(x, y, strict=True):
        history = torch.clamp(row_y + (row_x == 1).float(), max=1)
        users = torch.nonzero((p.R == history).all(1))[:, 0]
        if len(users) != 1:
            continue  # two users with one history: cannot tell whose
        mine = train.users == int(users[0])
        times = dict(zip(train.items[mine].tolist(), train.timestamps[mine].tolist(), strict=True))
        hidden = [times[int(i)] for i in torch.nonzero(row_x == 1)[:, 0]]
        shown = [times[int(i)] for i in torch.nonzero(row_y > 0)[:, 0]]
        assert min(hidden) >= max(shown)
        assert len(hidden) <= math.ceil(p.holdout * len(times))
        counts.add(len(hidden))
        matches += 1
    assert matches > 32 and len(counts) > 1  # j is drawn, not fixed


def test_latest_hiding_never_hides_a_whole_history():
    """With a large holdout a two-interaction user still shows its older one."""
    ratings = synthetic_ratings(40, 30, density=0.3, seed=6)
    p = ImplicitRanking(ratings, positive=None, holdout=0.9, seed=2)
    x, y = p.sample(256)
    assert (y.sum(1) >= 1).all() and ((x == 1).sum(1) >= 1).all()


def test_hidden_from_graph_the_batch_gets_the_graph_without_its_hidden_interactions():
    ratings = synthetic_ratings(40, 30, density=0.3, seed=6)
    plain = ImplicitRanking(ratings, positive=None, seed=3)
    p = ImplicitRanking(ratings, positive=None, seed=3, hide_from_graph=True)
    x, y, A = p.sample(32)
    assert torch.equal(y, plain.sample(32)[1])  # the same stream, the graph beside
    R, kept = p.R, A.interactions
    hidden = x == 1
    assert (kept <= R).all() and kept.shape == R.shape
    for b in range(len(y)):  # the batch's users: the rows of R that are y plus its hidden items
        users = (R == y[b] + hidden[b]).all(1).nonzero().flatten()
        assert any((kept[u] <= y[b]).all() and not (kept[u] * hidden[b]).any() for u in users)
    removed = int((R - kept).sum())
    assert 0 < removed <= int(hidden.sum())  # a user drawn twice loses both draws' hidden ones
    assert A.in_shape == p.operator.in_shape and p.validation[0].shape[1] == 30
    with pytest.raises(TypeError, match="hide_from_graph"):
        ImplicitRanking(ratings, positive=None, hide_from_graph="yes")


def test_hide_is_checked_and_random_on_the_random_split():
    ratings = synthetic_ratings(40, 30, density=0.3, seed=5)
    assert ImplicitRanking(ratings, positive=None, split="random").hide == "random"
    assert ImplicitRanking(ratings, positive=None, hide="random").hide == "random"
    with pytest.raises(ValueError, match="hide"):
        ImplicitRanking(ratings, positive=None, hide="oldest")
    untimed = dataclasses.replace(ratings, timestamps=None)
    with pytest.raises(ValueError, match="timestamps"):
        ImplicitRanking(untimed, positive=None, split="random", hide="latest")


def test_recall_and_the_softmax_loss():
    x = torch.tensor([[1.0, 0.0, math.nan, 0.0], [0.0, 0.0, 1.0, math.nan], [0.0] * 4])
    recall = recall_metric(1)
    assert recall(x.clone(), x) == 1.0  # the third user has nothing held out: not counted
    assert recall(torch.tensor([[0.0, 1, 9, 0], [1.0, 0, 0, 9], [0.0] * 4]), x) == 0.0
    good = torch.tensor([[[5.0, 0, 0, 0], [0, 0, 5, 0], [0.0] * 4]])
    bad = torch.tensor([[[0.0, 5, 0, 0], [5, 0, 0, 0], [0.0] * 4]])
    assert layer_losses("softmax", good, x) < layer_losses("softmax", bad, x)
    assert torch.isfinite(layer_losses("softmax", torch.full((1, 3, 4), 1e4), x)).all()


def test_bpr_pairs_each_relevant_item_with_an_unseen_negative():
    x = torch.tensor([[1.0, 0.0, math.nan], [0.0, 1.0, 1.0], [math.nan] * 3, [1.0, 1.0, 1.0]])
    x_hat = torch.tensor([[[2.0, -1.0, 1e6], [5.0, 0.0, 1.0], [0.0] * 3, [0.0] * 3]])
    # list 0: its one negative is item 1 (item 2 is seen: never drawn, its score never counts);
    # list 1: both relevant items meet item 0; lists 2 and 3 have no pair: not counted
    expected = (
        torch.nn.functional.softplus(torch.tensor(-3.0))
        + (
            torch.nn.functional.softplus(torch.tensor(5.0))
            + torch.nn.functional.softplus(torch.tensor(4.0))
        )
        / 2
    ) / 2
    torch.testing.assert_close(layer_losses("bpr", x_hat, x), expected[None])
    good = torch.tensor([[[5.0, 0, 0], [0, 5, 5], [0.0] * 3, [0.0] * 3]])
    assert layer_losses("bpr", good, x) < layer_losses("bpr", x_hat, x)
    scores = torch.randn(2, 4, 3, requires_grad=True)
    layer_losses("bpr", scores, x).sum().backward()
    assert torch.isfinite(scores.grad).all()


def test_bpr_draws_its_negatives_uniformly_among_the_unseen():
    """At equal scores every draw pushes its negative up by the same amount, so a negative's
    gradient counts its draws: each of the four unseen items takes a quarter, the seen (NaN)
    and relevant items none."""
    torch.manual_seed(0)
    x = torch.tensor([[0.0, 1.0, 0.0, math.nan, 0.0, 0.0]]).repeat(4000, 1)
    x_hat = torch.zeros(1, *x.shape, requires_grad=True)
    layer_losses("bpr", x_hat, x).sum().backward()
    drawn = x_hat.grad[0].sum(0)  # > 0 at the negatives, in proportion to their draws
    assert drawn[3] == 0 and drawn[1] < 0
    share = drawn[[0, 2, 4, 5]] / drawn[[0, 2, 4, 5]].sum()
    torch.testing.assert_close(share, torch.full((4,), 0.25), atol=0.03, rtol=0)
    seen = torch.tensor([[[0.0, 0.0, 0.0, -math.inf, 0.0, 0.0]]], requires_grad=True)
    loss = layer_losses("bpr", seen, x[:1])  # a seen item's score is none of the loss's business
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(seen.grad).all()


def test_ranking_scores_a_list_per_row_of_the_last_dimension():
    """A rating matrix per sample ``(B, U, I)`` is U lists, as ``(B·U, I)`` would be: never
    one list of U·I entries."""
    torch.manual_seed(0)
    x = (torch.rand(2, 5, 7) < 0.3).float()
    x[torch.rand(2, 5, 7) < 0.2] = math.nan
    x[0, 1] = math.nan  # a list with nothing to rank: finite, not counted
    x_hat = torch.randn(3, 2, 5, 7, requires_grad=True)
    flat = layer_losses("softmax", x_hat.reshape(3, 10, 7), x.reshape(10, 7))
    torch.testing.assert_close(layer_losses("softmax", x_hat, x), flat)
    layer_losses("softmax", x_hat, x).sum().backward()
    assert torch.isfinite(x_hat.grad).all()
    for metric in (recall_metric(3), ndcg_metric(3)):
        assert metric(x_hat[0], x) == metric(x_hat[0].reshape(10, 7), x.reshape(10, 7))
