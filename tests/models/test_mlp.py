"""The black-box MLP baseline: sized to a parameter budget, trainable by fit."""

from __future__ import annotations

import pytest
import torch

from unrolled.data import SparseCoding
from unrolled.models import MLP
from unrolled.train import fit


@pytest.mark.parametrize("hidden_layers", [1, 2, 3])
@pytest.mark.parametrize("budget", [1, 5000, 6110, 123_457, 61 * 97 + 10])
def test_with_at_least_is_the_narrowest_mlp_over_the_budget(budget, hidden_layers):
    net = MLP.with_at_least(20, 40, budget, hidden_layers)
    count = sum(p.numel() for p in net.parameters())
    assert count == MLP.parameter_count(20, 40, net.width, hidden_layers) >= budget
    assert net.width == 1 or MLP.parameter_count(20, 40, net.width - 1, hidden_layers) < budget
    exact = MLP.parameter_count(20, 40, 37, hidden_layers)  # a budget met exactly
    assert MLP.with_at_least(20, 40, exact, hidden_layers).width == 37


def test_forward_shapes_and_errors():
    net = MLP(20, 40, width=16, hidden_layers=2)
    y = torch.randn(5, 20)
    assert net(y).shape == (5, 40)
    x, trace = net(y, trace=True, depth=1)
    assert trace.shape == (1, 5, 40) and torch.equal(trace[0], x)
    with pytest.raises(ValueError, match="depth: an MLP has one block"):
        net(y, depth=2)
    with pytest.raises(ValueError, match=r"y: expected shape \(B, 20\), got \(5, 21\)"):
        net(torch.randn(5, 21))
    with pytest.raises(ValueError, match="width: expected a positive int"):
        MLP(20, 40, width=0)
    with pytest.raises(TypeError, match=r"y: expected torch\.float32"):
        net(torch.randn(5, 20, dtype=torch.float64))


def test_fit_trains_it_on_a_fixed_training_set():
    torch.manual_seed(0)
    problem = SparseCoding(20, 40, seed=1, validation_size=64, test_size=64, train_size=200)
    net = MLP(20, 40, width=64, hidden_layers=2)
    x, y = problem.validation
    before = (net(y) - x).square().mean()
    fit(net, problem, schedule="end-to-end", lr=1e-3, max_steps=150, progress=False)
    with torch.no_grad():
        assert (net(y) - x).square().mean() < 0.9 * before
