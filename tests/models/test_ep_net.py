"""ep-net: untrained it is EP, on complex and real systems; it learns a damping and a
cavity-variance scale per layer (what that buys is measured by benchmarks/mimo.py)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import EP
from unrolled.data import MIMODetection
from unrolled.models.ep_net import CavityCorrection


@pytest.mark.parametrize(
    ("constellation", "real"), [("qpsk", False), ("16qam", False), ("bpsk", True)]
)
def test_untrained_network_is_ep(constellation, real):
    problem = MIMODetection(
        6, 4, constellation, snr_db=(5, 25), real=real, validation_size=32, test_size=8
    )
    _x, y, A = problem.validation
    assert A.M.is_complex() != real
    net = ur.create("ep-net", operator=A, layers=5, constellation=constellation)
    _, trace = net(y, A, trace=True)
    _, classical = EP(constellation).run(y, A, iterations=5, trace=True)
    torch.testing.assert_close(trace, classical, rtol=1e-5, atol=1e-5)
    assert net.learned == ("damping", "cavity_scale")
    assert net.params["damping"].shape == (5,)


def test_with_a_cavity_correction_it_starts_as_ep_and_learns_it():
    problem = MIMODetection(4, 4, "16qam", snr_db=(10, 20), validation_size=64, test_size=8)
    _, y, A = problem.validation
    net = ur.create("ep-net", operator=A, layers=3, constellation="16qam", correction=True)
    with torch.no_grad():
        torch.testing.assert_close(net(y, A), EP("16qam").run(y, A, iterations=3))
    corrections = [m for m in net.modules() if isinstance(m, CavityCorrection)]
    assert len(corrections) == 3
    start = [c.net[-1].weight.detach().clone() for c in corrections]
    ur.train.fit(net, problem, max_steps=3, progress=False, restore_best=False)
    assert all(
        not torch.equal(c.net[-1].weight, w) for c, w in zip(corrections, start, strict=True)
    )
    with pytest.raises(TypeError, match="correction"):
        ur.create("ep-net", operator=A, correction="yes")


def test_training_moves_its_scalars_and_keeps_the_error_finite():
    torch.manual_seed(0)
    problem = MIMODetection(4, 4, "qpsk", snr_db=15.0, validation_size=256, test_size=8)
    _, y, A = problem.validation
    net = ur.create("ep-net", operator=A, layers=4)
    start = {k: v.detach().clone() for k, v in net.param_values().items()}
    ur.train.fit(net, problem, max_steps=5, progress=False, restore_best=False)
    assert all(not torch.equal(v.detach(), start[k]) for k, v in net.param_values().items())
    with torch.no_grad():
        assert torch.isfinite(net(y, A)).all()


def test_it_needs_a_channel():
    with pytest.raises(TypeError, match="operator: ep-net detects symbols through"):
        ur.create("ep-net", operator=ur.Matrix(torch.eye(4)), layers=2)
