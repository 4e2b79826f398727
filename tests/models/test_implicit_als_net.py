"""implicit-als-net: untrained it ranks as implicit ALS after K alternations; it learns each
alternation's confidence and ridge (and, asked, the factors' start) on batches that hide their
targets from the graph (what that buys is measured by benchmarks/recsys.py --part ranking)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ImplicitALS
from unrolled.data import ImplicitRanking, synthetic_ratings
from unrolled.models.implicit_als_net import START_SCALE


def _problem(**kwargs):
    return ImplicitRanking(synthetic_ratings(120, 60, density=0.3, seed=7), positive=3.0, **kwargs)


@pytest.fixture(scope="module")
def problem():
    return _problem(hide_from_graph=True)


@pytest.mark.parametrize("layers", [1, 3])
def test_untrained_it_is_implicit_als(problem, layers):
    A = problem.operator
    net = ur.create("implicit-als-net", operator=A, layers=layers, rank=8)
    _, y = problem.test
    with torch.no_grad():
        classical = ImplicitALS(rank=8).run(y, A, iterations=layers)
        torch.testing.assert_close(net(y), START_SCALE * classical)  # the same ranking
    assert net.learned == ("confidence", "reg", "scale")
    assert net.params["confidence"].shape == (layers,) and net.params["scale"].shape == ()


def test_trains_by_its_recipe_and_moves_every_learned_value(problem):
    torch.manual_seed(0)
    net = ur.create("implicit-als-net", operator=problem.operator, layers=2, rank=8)
    start = {k: v.detach().clone() for k, v in net.param_values().items()}
    assert net.recipe.settings["loss"] == "softmax"
    assert net.recipe.settings.get("restore_best", True)  # never ends below its start
    ur.train.fit(net, problem, max_steps=20, progress=False, restore_best=False)
    for name, value in net.param_values().items():
        assert not torch.equal(value.detach(), start[name]), name
    _, y = problem.test
    with torch.no_grad():
        assert torch.isfinite(net(y)).all()


def test_it_can_learn_the_factors_start(problem):
    net = ur.create("implicit-als-net", operator=problem.operator, layers=2, rank=8,
                    learn_factors=True)  # fmt: skip
    assert net.params["factors"].shape == (60, 8)
    ur.train.fit(net, problem, max_steps=3, progress=False)
    with pytest.raises(TypeError, match="learn_factors"):
        ur.create("implicit-als-net", operator=problem.operator, learn_factors="yes")


def test_its_recipe_refuses_batches_that_keep_their_targets_in_the_graph():
    leaky = _problem()
    net = ur.create("implicit-als-net", operator=leaky.operator, layers=2, rank=8)
    with pytest.raises(ValueError, match=r"problem: .*hide_from_graph=True"):
        ur.train.fit(net, leaky, max_steps=2, progress=False)


def test_it_needs_the_item_graph_of_the_interactions():
    with pytest.raises(TypeError, match="A: ImplicitALS factorises the interactions"):
        ur.create("implicit-als-net", operator=ur.Matrix(torch.eye(5)), layers=2)
