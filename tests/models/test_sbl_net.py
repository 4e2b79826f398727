"""sbl-net: SBL-EM untrained, a learned variance map once trained."""

from __future__ import annotations

import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import SBL


def test_untrained_it_is_sbl_em():
    A, _, y = sparse_problem(batch=4)
    net = ur.create("sbl-net", operator=A, layers=12, noise=1e-3)
    torch.testing.assert_close(
        net(y), SBL(noise=1e-3).run(y, A, iterations=12), rtol=1e-10, atol=1e-12
    )


def test_a_map_per_layer_but_the_last_and_a_noise_per_layer():
    A, _, _ = sparse_problem()
    net = ur.create("sbl-net", operator=A, layers=5)
    maps = net.slots["mstep"]
    assert [type(m).__name__ for m in maps] == ["VarianceMap"] * 4 + ["EMVariances"]
    assert net.params["noise"].shape == (5,)


def test_training_lowers_the_error(tmp_path):
    p = ur.data.SparseCoding(20, 40, snr_db=30.0, validation_size=32, test_size=32)
    net = ur.create("sbl-net", operator=p.operator, layers=4, noise=1e-3)
    x, y = p.test
    with torch.no_grad():
        before = p.metric(net(y), x)
    ur.train.fit(net, p, max_steps=60, lr=1e-2, batch_size=32, run_dir=tmp_path / "run")
    with torch.no_grad():
        assert p.metric(net(y), x) < before
