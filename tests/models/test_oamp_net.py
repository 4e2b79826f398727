"""OAMP-Net and OAMP-Net2: untrained they are OAMP; training on fresh channels lowers the error."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import OAMP
from unrolled.data import MIMODetection
from unrolled.train import fit


@pytest.mark.parametrize("name", ["oamp-net", "oamp-net2"])
@pytest.mark.parametrize("constellation", ["qpsk", "16qam"])
def test_untrained_network_is_oamp(name, constellation):
    problem = MIMODetection(4, 4, constellation, snr_db=(5, 25), validation_size=64, test_size=8)
    _x, y, A = problem.validation
    net = ur.create(name, operator=A, layers=6, constellation=constellation)
    _, trace = net(y, A, trace=True)
    _, classical = OAMP(constellation).run(y, A, iterations=6, trace=True)
    torch.testing.assert_close(trace, classical, rtol=1e-5, atol=1e-5)
    assert len(list(net.parameters())) == (2 if name == "oamp-net" else 4)


def test_oamp_detects_better_than_mmse_on_average():
    problem = MIMODetection(8, 8, "qpsk", snr_db=12.0, validation_size=4000, test_size=8)
    x, y, A = problem.validation
    truth = problem.indices(x)
    ser_oamp = (problem.indices(OAMP("qpsk").run(y, A, iterations=10)) != truth).float().mean()
    ser_mmse = (problem.indices(ur.comms.mmse(y, A)) != truth).float().mean()
    assert ser_oamp < ser_mmse


def test_training_lowers_the_validation_error():
    torch.manual_seed(0)
    problem = MIMODetection(4, 4, "qpsk", snr_db=10.0, validation_size=2000, test_size=8)
    x, y, A = problem.validation
    net = ur.create("oamp-net2", operator=A, layers=4)
    before = (net(y, A) - x).abs().square().mean()
    fit(net, problem, max_steps=200, batch_size=256, lr=1e-2, loss="mse", progress=False)
    after = (net(y, A) - x).abs().square().mean()
    assert after < 0.97 * before


def test_detectors_refuse_operators_without_a_noise_variance():
    with pytest.raises(TypeError, match="operator: oamp-net2 detects symbols through"):
        ur.create("oamp-net2", operator=ur.Matrix(torch.randn(3, 4, 4)))
    A = ur.Matrix(torch.randn(2, 4, 4))
    with pytest.raises(TypeError, match="A: OAMP needs the noise variance"):
        OAMP().run(torch.randn(2, 4), A, iterations=1)


def test_mmnet_learns_its_steps():
    """Untrained, MMNet's matched-filter steps of 1/L converge slowly; two learned scalars per
    layer make it a detector."""
    torch.manual_seed(0)
    problem = MIMODetection(16, 8, "qpsk", snr_db=(6.0, 10.0), validation_size=2000, test_size=8)
    x, y, A = problem.validation
    net = ur.create("mmnet", operator=A, layers=6)
    ser = lambda: (problem.indices(net(y, A)) != problem.indices(x)).float().mean()  # noqa: E731
    before = ser()
    fit(net, problem, max_steps=300, batch_size=256, lr=2e-2, loss="mse", progress=False)
    mmse = (problem.indices(ur.comms.mmse(y, A)) != problem.indices(x)).float().mean()
    assert ser() < 0.3 * before and ser() < 2 * mmse
