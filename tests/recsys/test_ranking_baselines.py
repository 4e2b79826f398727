"""The top-N baselines beside the graph filters: item-kNN and BPR-MF."""

from __future__ import annotations

import pytest
import torch

from unrolled.data import ImplicitRanking, synthetic_ratings
from unrolled.recsys import fit_bpr_mf, item_knn, sample_negatives


def test_item_knn_is_the_cosine_similarity_kept_to_each_items_neighbours():
    R = (torch.rand(30, 12, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    full = item_knn(R, neighbours=12)
    cosine = torch.nn.functional.normalize(R, dim=0)
    expected = cosine.mT @ cosine
    expected.fill_diagonal_(0)
    torch.testing.assert_close(full, expected)
    kept = item_knn(R, neighbours=3)
    assert ((kept != 0).sum(0) <= 3).all()
    for j in range(12):  # each column keeps its three largest similarities
        top = expected[:, j].topk(3).values
        torch.testing.assert_close(kept[:, j].sort(descending=True).values[:3], top)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: item_knn(torch.full((3, 4), 2.0)), "zeros and ones"),
        (lambda: item_knn(torch.ones(3, 4), neighbours=0), "neighbours"),
        (lambda: fit_bpr_mf(torch.ones(3, 4)), "every item"),
        (lambda: fit_bpr_mf(torch.zeros(3, 4)), "at least one"),
        (lambda: fit_bpr_mf(torch.eye(3), factors=0), "factors"),
    ],
)
def test_bad_baseline_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_negatives_are_never_interactions():
    R = torch.tensor([[1.0, 1, 0, 1], [0.0, 1, 1, 1]])
    users = torch.tensor([0, 1] * 50)
    items = sample_negatives(R, users, torch.Generator().manual_seed(0))
    assert (R[users, items] == 0).all()


def test_bpr_mf_ranks_the_held_out_items_above_chance_and_keeps_its_best_epoch():
    p = ImplicitRanking(synthetic_ratings(80, 60, density=0.3, seed=5), positive=3.0)
    x, _ = p.validation
    users = p.held_out_users["validation"]
    scores: list[float] = []

    def validate(model):
        scores.append(p.metric(model.scores(users), x))
        return scores[-1]

    model = fit_bpr_mf(p.R, factors=8, epochs=40, lr=0.01, validate=validate, every=10)
    assert len(scores) == 4 and p.metric(model.scores(users), x) == max(scores)
    chance = p.metric(torch.rand(x.shape, generator=torch.Generator().manual_seed(1)), x)
    assert max(scores) > chance
    again = fit_bpr_mf(p.R, factors=8, epochs=40, lr=0.01, validate=validate, every=10)
    torch.testing.assert_close(again.P, model.P)  # seeded
