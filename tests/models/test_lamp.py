"""LAMP: AMP with a learned back-projection per layer; AMP before training."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import AMP
from unrolled.models import LAMPIteration


@pytest.mark.parametrize("alpha", [None, 1.5])
def test_untrained_lamp_equals_amp(alpha):
    A, _, y = sparse_problem()
    kwargs = {} if alpha is None else {"alpha": alpha}
    net = ur.create("lamp", operator=A, layers=8, **kwargs)
    _, trace = net(y, trace=True)
    _, trace_run = AMP(**kwargs).run(y, A, iterations=8, trace=True)
    scale = trace_run.abs().max()
    torch.testing.assert_close(trace, trace_run, rtol=1e-10, atol=1e-10 * scale)


def test_lamp_params_and_backprojection():
    A, _, _ = sparse_problem()
    net = ur.create("lamp", operator=A, layers=4)
    assert {n: tuple(p.shape) for n, p in net.params.items()} == {"B": (4, 40, 20), "alpha": (4,)}
    torch.testing.assert_close(net.param_values()["B"], A.M.mT.expand(4, 40, 20))
    # a learned B changes only the back-projection: B = 2Aᵀ doubles Aᵀz
    alg = LAMPIteration(20, 40)
    z = torch.randn(3, 20, dtype=torch.float64)
    layer = ur.Layer({"B": 2 * A.M.mT, "alpha": 1.0}, 0)
    torch.testing.assert_close(alg.backproject(z, A, layer), 2 * A.H(z))


def test_lamp_onsager_term_is_the_support_size_over_m():
    """One layer by hand: r = x + Bz, θ = α‖z‖/√m, z' = y − Ax' + (‖x'‖₀/m) z."""
    A, _, y = sparse_problem()
    alg = LAMPIteration(20, 40)
    B = 0.9 * A.M.mT
    state = alg.init(y, A)
    x, z = alg.update(state, y, A, ur.Layer({"B": B, "alpha": 1.2}, 0))
    r = y @ B.mT
    theta = 1.2 * y.norm(dim=1, keepdim=True) / 20**0.5
    x_ref = torch.sign(r) * (r.abs() - theta).clamp_min(0)
    torch.testing.assert_close(x, x_ref)
    b = (x_ref != 0).sum(1, keepdim=True) / 20
    torch.testing.assert_close(z, y - A(x_ref) + b * y)
