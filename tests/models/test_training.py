"""A short training run improves on the untrained network (a smoke test, not a benchmark)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur


def sample(A, g, batch=64, sparsity=0.1):
    n = A.in_shape[0]
    x = torch.randn(batch, n, generator=g) * (torch.rand(batch, n, generator=g) < sparsity)
    return x, A(x)


def nmse_db(net, x, y):
    with torch.no_grad():
        return float(10 * torch.log10((net(y) - x).square().sum() / x.square().sum()))


@pytest.mark.parametrize(("name", "lr"), [("lista-cp", 1e-2), ("alista", 1e-2)])
def test_hundred_adam_steps_improve_on_the_start(name, lr):
    g = torch.Generator().manual_seed(0)
    M = torch.randn(20, 40, generator=g) / 20**0.5
    A = ur.Matrix(M / M.norm(dim=0))
    x_test, y_test = sample(A, g, batch=500)
    torch.manual_seed(0)
    net = ur.create(name, operator=A, layers=6)
    before = nmse_db(net, x_test, y_test)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    for _ in range(100):
        x, y = sample(A, g)
        loss = (net(y) - x).square().sum() / x.square().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = nmse_db(net, x_test, y_test)
    assert after < before - 2, (before, after)  # at least 2 dB better
