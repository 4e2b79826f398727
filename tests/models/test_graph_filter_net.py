"""graph-filter-net: untrained it is the classical graph filter (what it learns is measured by
benchmarks/recsys.py --part ranking)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import GraphFilter
from unrolled.data import ImplicitRanking, synthetic_ratings


@pytest.fixture(scope="module")
def problem():
    return ImplicitRanking(synthetic_ratings(120, 60, density=0.3, seed=7), positive=3.0)


@pytest.mark.parametrize("layers", [1, 2, 4])
def test_untrained_it_is_the_classical_graph_filter(problem, layers):
    net = ur.create("graph-filter-net", operator=problem.operator, layers=layers)
    _, y = problem.test
    with torch.no_grad():
        torch.testing.assert_close(
            net(y), GraphFilter().run(y, problem.operator, iterations=layers)
        )
    # one temperature, tied across the hops, learned in log space (`Param(log=True)`): Adam's
    # steps of about lr on its raw value move it by factors, as the softmax loss needs
    assert net.params["scale"].shape == () and net.algorithm.params["scale"].log
    assert net.params["coefficient"].shape == (layers,)
