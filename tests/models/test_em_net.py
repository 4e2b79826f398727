"""em-net: EM itself untrained, FBSEM-Net's fusion once trained."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import MLEM, OSEM


def problem():
    return ur.data.EmissionTomography(24, 12, subsets=3, validation_size=4, test_size=4)


@pytest.mark.parametrize("subsets", [1, 3])
def test_untrained_it_is_mlem_or_osem(subsets):
    p = problem()
    net = ur.create("em-net", operator=p.operator, layers=8, subsets=subsets).double()
    y = p.test[1].double()
    A64 = p.operator.c * ur.ops.Radon((1, 24, 24), angles=12, dtype=torch.float64)
    A64.background = p.operator.background
    classical = (MLEM() if subsets == 1 else OSEM(subsets=subsets)).run(y, A64, iterations=8)
    torch.testing.assert_close(net(y, A64), classical, rtol=1e-10, atol=0)


def test_one_shared_regulariser_and_a_weight_per_layer():
    net = ur.create("em-net", operator=problem().operator, layers=5)
    steps = net.slots["mstep"]
    assert len(steps) == 5
    assert all(s.regulariser is steps[0].regulariser for s in steps)
    assert len({id(s.raw_gamma) for s in steps}) == 5
    shared = sum(p.numel() for p in steps[0].regulariser.parameters())
    assert sum(p.numel() for p in net.parameters()) == shared + 5


def test_training_lowers_the_error_and_keeps_the_estimate_nonnegative(tmp_path):
    p = problem()
    net = ur.create("em-net", operator=p.operator, layers=4, depth=3, width=8)
    x, y = p.test
    with torch.no_grad():
        before = p.metric(net(y), x)
    ur.train.fit(net, p, max_steps=40, lr=3e-3, batch_size=4, run_dir=tmp_path / "run")
    with torch.no_grad():
        out = net(y)
    assert (out >= 0).all()
    assert p.metric(out, x) < before
