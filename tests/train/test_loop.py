import math

import pytest
import torch
from torch import nn

from unrolled.train import train_steps


def regression():
    """A linear model and an endless stream of batches of a noiseless linear target."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    g = torch.Generator().manual_seed(0)
    w = torch.tensor([[1.0, -2.0, 0.5]])

    def sample():
        x = torch.randn(16, 3, generator=g)
        return x, x @ w.T

    def loss_fn(model, batch):
        x, y = batch
        return (model(x) - y).square().mean()

    return model, sample, loss_fn


def test_trains_and_respects_max_steps():
    model, sample, loss_fn = regression()
    x, y = sample()
    before = float(loss_fn(model, (x, y)).detach())
    stats = train_steps(model, sample, loss_fn, max_seconds=None, max_steps=300, lr=3e-2)
    after = float(loss_fn(model, (x, y)).detach())
    assert stats["steps"] == 300 and stats["stopped"] == "steps"
    assert after < before / 100
    assert stats["final_loss"] < stats["first_loss"] / 100
    assert stats["seconds"] > 0


def test_stops_on_time():
    model, sample, loss_fn = regression()
    stats = train_steps(model, sample, loss_fn, max_seconds=0.05)
    assert stats["stopped"] == "time"
    assert stats["steps"] >= 1
    assert stats["seconds"] >= 0.05


def test_clip_runs():
    model, sample, loss_fn = regression()
    stats = train_steps(model, sample, loss_fn, max_seconds=None, max_steps=50, clip=0.1)
    assert stats["steps"] == 50 and math.isfinite(stats["final_loss"])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_names_the_step_and_keeps_the_last_good_parameters(bad):
    model, sample, base = regression()
    seen = {}

    def loss_fn(model, batch):
        seen["step"] = seen.get("step", 0) + 1
        if seen["step"] == 3:
            seen["params"] = [p.detach().clone() for p in model.parameters()]
            return base(model, batch) * bad
        return base(model, batch)

    with pytest.raises(FloatingPointError, match="at step 3"):
        train_steps(model, sample, loss_fn, max_seconds=None, max_steps=10)
    for p, q in zip(model.parameters(), seen["params"], strict=True):
        assert torch.equal(p, q)


def test_log_every():
    model, sample, loss_fn = regression()
    calls = []
    train_steps(
        model,
        sample,
        loss_fn,
        max_seconds=None,
        max_steps=20,
        log_every=5,
        log=lambda step, loss, seconds: calls.append((step, loss, seconds)),
    )
    assert [c[0] for c in calls] == [5, 10, 15, 20]
    assert all(math.isfinite(c[1]) and c[2] >= 0 for c in calls)


def test_default_log_prints(capsys):
    model, sample, loss_fn = regression()
    train_steps(model, sample, loss_fn, max_seconds=None, max_steps=4, log_every=2)
    out = capsys.readouterr().out
    assert out.count("step") == 2 and "loss" in out


def test_argument_errors():
    model, sample, loss_fn = regression()
    with pytest.raises(ValueError, match="max_seconds, max_steps"):
        train_steps(model, sample, loss_fn, max_seconds=None)
    with pytest.raises(ValueError, match="max_seconds: expected a positive"):
        train_steps(model, sample, loss_fn, max_seconds=-1)
    with pytest.raises(ValueError, match="max_steps: expected a positive int"):
        train_steps(model, sample, loss_fn, max_seconds=None, max_steps=2.5)
    with pytest.raises(ValueError, match="lr"):
        train_steps(model, sample, loss_fn, max_seconds=1, lr=0)
    with pytest.raises(TypeError, match="model"):
        train_steps(lambda x: x, sample, loss_fn, max_seconds=1)
    with pytest.raises(TypeError, match="sample"):
        train_steps(model, None, loss_fn, max_seconds=1)
    with pytest.raises(ValueError, match="model: expected at least one parameter"):
        train_steps(nn.ReLU(), sample, loss_fn, max_seconds=1)


def test_non_scalar_loss():
    model, sample, _ = regression()

    def loss_fn(model, batch):
        x, y = batch
        return (model(x) - y).square()

    with pytest.raises(TypeError, match=r"loss_fn: expected a scalar tensor loss, got \(16, 1\)"):
        train_steps(model, sample, loss_fn, max_seconds=None, max_steps=2)
