"""`fit` validates, early-stops and keeps the best weights on the problem's own metric."""

from __future__ import annotations

import math

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.data import MIMODetection, RatingCompletion, SparseCoding
from unrolled.metrics import Metric
from unrolled.train import fit, read_metrics
from unrolled.train.losses import validation_score


def settings(**kw):
    return {"schedule": "end-to-end", "loss": "mse", "progress": False, **kw}


def running_best(values, higher):
    best, out = None, []
    for v in values:
        best = v if best is None else (max(best, v) if higher else min(best, v))
        out.append(best)
    return out


@pytest.mark.parametrize(
    ("problem", "model", "key"),
    [
        (
            lambda: MIMODetection(4, 4, snr_db=(5.0, 15.0), validation_size=64, test_size=8),
            lambda p: ur.create("oamp-net2", operator=p.operator, layers=2),
            "ser",
        ),
        (
            lambda: RatingCompletion("synthetic"),
            lambda p: ur.create("als-net", operator=p.operator, layers=1, rank=4),
            "rmse",
        ),
    ],
    ids=["mimo", "ratings"],
)
def test_fit_validates_and_early_stops_on_the_problems_metric(problem, model, key, tmp_path):
    torch.manual_seed(0)
    p = problem()
    net = model(p)
    assert p.metric.key == key and not p.metric.higher_is_better
    batch = 8 if key == "ser" else 1
    # No change can beat the first score by a margin of 10: patience ends the stage at step 3.
    fit(net, p, run_dir=tmp_path / "a", batch_size=batch, max_steps=40, eval_every=1, lr=1e-3,
        patience=3, min_delta=10.0, **settings())  # fmt: skip
    records = read_metrics(tmp_path / "a")
    assert records[-1]["step"] == 3
    assert all(f"val_{key}" in r and "val_nmse_db" not in r for r in records)
    # Without the margin: the stage's best is the lowest score, and restore_best returns to it.
    net = model(p)
    fit(net, p, run_dir=tmp_path / "b", batch_size=batch, max_steps=6, eval_every=1, lr=3e-2,
        **settings())  # fmt: skip
    values = [r[f"val_{key}"] for r in read_metrics(tmp_path / "b")]
    assert all(math.isfinite(v) for v in values)
    assert [r[f"best_val_{key}"] for r in read_metrics(tmp_path / "b")] == running_best(
        values, higher=False
    )
    x, y, A = p.validation
    assert validation_score(net, x, y, net.layers, p.metric, A=A) == pytest.approx(min(values))


class HigherIsBetter(SparseCoding):
    """Sparse coding scored by −NMSE (linear): a metric whose best is its highest."""

    metric = Metric(
        "negated NMSE",
        "",
        True,
        lambda x_hat, x: -ur.metrics.nmse(x_hat, x).double().sum().reshape(1),
        lambda totals: float(totals[0]),
    )


def test_a_higher_is_better_metric_keeps_its_highest(tmp_path):
    p = HigherIsBetter(m=20, n=40, validation_size=32, test_size=8)
    net = ur.unroll(ISTA, 3, learn=["step", "threshold"], operator=p.operator)
    fit(net, p, run_dir=tmp_path, max_steps=12, eval_every=2, lr=0.2, batch_size=16,
        **settings())  # fmt: skip
    records = read_metrics(tmp_path)
    values = [r["val_negated_nmse"] for r in records]
    assert values[-1] != values[0]
    assert [r["best_val_negated_nmse"] for r in records] == running_best(values, higher=True)
    x, y = p.validation
    assert validation_score(net, x, y, 3, p.metric) == pytest.approx(max(values))


def test_metric_direction_and_names():
    ser = ur.metrics.error_rate_metric(torch.sign)
    assert (ser.key, ser.label) == ("ser", "SER")
    assert ser.improves(0.1, 0.2) and not ser.improves(0.2, 0.1) and ser.improves(0.3, None)
    assert not ser.improves(0.15, 0.2, margin=0.1)
    psnr = ur.metrics.psnr_metric()
    assert (psnr.key, psnr.label) == ("psnr_db", "PSNR (dB)")
    assert psnr.improves(30.0, 29.0) and not psnr.improves(29.0, 30.0)
    assert not psnr.improves(math.nan, None)
    x = torch.tensor([[1.0, -1.0, 1.0, 1.0]])
    assert ser(torch.tensor([[0.5, -2.0, -0.1, 3.0]]), x) == 0.25
    rmse = ur.metrics.rating_metric("RMSE", (1.0, 5.0))
    truth = torch.tensor([[4.0, math.nan, 2.0]])
    assert rmse(torch.tensor([[6.0, 0.0, 1.0]]), truth) == pytest.approx(math.sqrt(1.0))
