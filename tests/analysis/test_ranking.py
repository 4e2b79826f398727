"""Top-N scores: Recall, NDCG and coverage of the lists, never an item a user has seen."""

from __future__ import annotations

import math

import pytest
import torch

from unrolled.analysis.ranking import ranking_scores, top_n

NAN = math.nan


def test_lists_skip_seen_items_and_coverage_counts_the_catalogue_shown():
    # two users, five items; user 0 has seen item 0 (NaN), user 1 items 3 and 4
    x = torch.tensor([[NAN, 1.0, 0, 0, 0], [0.0, 0, 1, NAN, NAN]])
    scores = torch.tensor([[9.0, 1, 5, 0, 0], [0.5, 0, 1, 9, 8]])
    assert top_n(scores, x, 1).tolist() == [[2], [2]]  # the seen best never shown
    out = ranking_scores(scores, x, lists=(1, 2))
    assert out["recall@1"] == pytest.approx(0.5) and out["recall@2"] == pytest.approx(1.0)
    assert out["coverage@1"] == pytest.approx(1 / 5)  # both users are shown item 2
    assert out["coverage@2"] == pytest.approx(3 / 5)  # items 1, 2 and 0
    assert out["ndcg@1"] == pytest.approx(0.5)


def test_scores_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="scores: expected the shape of x"):
        ranking_scores(torch.zeros(2, 3), torch.zeros(2, 4))
