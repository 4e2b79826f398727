"""DetNet: its iteration is projected gradient descent; the learned network trains."""

from __future__ import annotations

import math

import pytest
import torch

import unrolled as ur
from unrolled.data import MIMODetection
from unrolled.models import DetNetIteration
from unrolled.train import fit


def test_iteration_with_its_defaults_is_projected_gradient_descent():
    p = MIMODetection(6, 4, "bpsk", snr_db=5.0, validation_size=32, test_size=8)
    _, y, A = p.validation
    step = 1 / A.lipschitz()
    x = torch.zeros(32, 4)
    for _ in range(5):
        x = (x - step * A.H(A(x) - y)).clamp(-1, 1)
    torch.testing.assert_close(DetNetIteration("bpsk").run(y, A, iterations=5), x)


def test_detnet_trains_on_the_real_equivalent_of_qpsk():
    torch.manual_seed(0)
    p = MIMODetection(
        8, 4, "qpsk", snr_db=(8.0, 14.0), real=True, validation_size=1000, test_size=8
    )
    x, y, A = p.validation
    net = ur.create("detnet", operator=A, layers=6, constellation="qpsk")
    assert net(y, A).shape == x.shape == (1000, 8)
    ser = lambda: (p.indices(net(y, A)) != p.indices(x)).float().mean()  # noqa: E731
    before = ser()
    fit(
        net,
        p,
        max_steps=300,
        batch_size=256,
        lr=1e-3,
        loss="nmse",
        schedule="deep-supervision",
        layer_weights="log",
        progress=False,
    )
    assert before > 0.5 and ser() < 0.05  # from near guessing to detecting (MMSE: 0.004)


def test_log_layer_weights_are_detnets():
    from unrolled.train.config import DEFAULTS, FitConfig

    settings = {**DEFAULTS, "schedule": "deep-supervision", "layer_weights": "log"}
    config = FitConfig.checked(3, 10, **settings)
    assert config.layer_weights == (0.0, math.log(2), math.log(3))


def test_bad_arguments_are_named():
    p = MIMODetection(4, 4, "qpsk", validation_size=4, test_size=4)
    with pytest.raises(TypeError, match="operator: detnet detects over a real"):
        ur.create("detnet", operator=p.operator)
    real = MIMODetection(4, 4, "16qam", real=True, validation_size=4, test_size=4)
    with pytest.raises(ValueError, match="constellation: DetNet's soft sign needs two levels"):
        ur.create("detnet", operator=real.operator, constellation="16qam")
    with pytest.raises(ValueError, match="mix: expected"):
        ur.create("detnet", operator=real.operator, mix=1.5)
