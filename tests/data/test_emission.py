"""`EmissionTomography`: the dose, the background, the held-out sets and the EM baselines."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.data import EmissionTomography, mni_template_path


def small(**kwargs):
    return EmissionTomography(**{"size": 24, "angles": 12, "subsets": 3, **kwargs})


def test_the_dose_and_the_background_are_as_stated():
    p = small(counts=5e4, background=0.3, validation_size=16, test_size=4)
    A = p.operator
    x_val, y_val = p.validation
    torch.testing.assert_close(A(x_val).flatten(1).sum(1).mean().item(), 5e4, rtol=1e-4, atol=0)
    for size in (6, 20):  # the dose, so the test set, does not depend on validation_size
        other = small(counts=5e4, background=0.3, validation_size=size, test_size=4)
        assert other.operator.c == A.c and len(other.validation[0]) == size
        torch.testing.assert_close(other.test, p.test)
        torch.testing.assert_close(other.validation[0][:6], x_val[:6])
    assert A.background == pytest.approx(0.3 * 5e4 / (12 * p.radon.detector))
    mean = A(x_val) + A.background
    total = y_val.flatten(1).sum(1)  # Poisson: within a few standard deviations of the mean
    expected = mean.flatten(1).sum(1)
    assert ((total - expected).abs() < 5 * expected.sqrt()).all()
    assert (y_val == y_val.round()).all() and (y_val >= 0).all()
    x, y = p.sample(2)
    assert x.shape == (2, 1, 24, 24) and y.shape == (2, 1, 12, p.radon.detector)
    assert x.min() >= 0 and x.max() <= 1


def test_realisations_are_independent_draws_of_the_same_counts():
    p = small(test_size=2)
    x = p.test[0]
    ys = p.realisations(x, 50, seed=3)
    assert ys.shape == (50, *p.test[1].shape)
    torch.testing.assert_close(ys, p.realisations(x, 50, seed=3))
    assert not torch.equal(ys[0], ys[1])
    mean = p.operator(x) + p.operator.background  # the sample mean of 50 draws, per image
    total, expected = ys.mean(0).flatten(1).sum(1), mean.flatten(1).sum(1)
    assert ((total - expected).abs() < 5 * (expected / 50).sqrt()).all()
    with pytest.raises(ValueError, match="count"):
        p.realisations(x, 0)


def test_held_out_sets_are_their_own_and_reproducible():
    p, q = small(), small()
    torch.testing.assert_close(p.test, q.test, rtol=0, atol=0)
    torch.testing.assert_close(p.sample(2), q.sample(2), rtol=0, atol=0)
    assert not torch.equal(p.validation[0][:3], p.test[0][:3])
    assert not torch.equal(p.sample(3)[0], p.test[0][:3])
    assert not torch.equal(small(seed=1).test[0], p.test[0])


def test_map_em_and_a_tuned_stop_beat_filtered_back_projection(monkeypatch):
    monkeypatch.setattr(ur.data.emission, "MAX_ITERATIONS", 40)
    monkeypatch.setattr(ur.data.emission, "MAP_GRID", (0.03, 0.3))
    monkeypatch.setattr(ur.data.emission, "MAP_ITERATIONS", 40)
    p = small(size=32, angles=24, validation_size=4, test_size=4)
    x = p.test[0]
    scores = {name: p.metric(run(5)[-1], x) for name, run in p.baselines().items()}
    assert scores["MAP-EM (tuned)"] < scores["MLEM (tuned stop)"] < scores["FBP (Hann)"]
    assert 1 <= p.best_iterations(ur.algorithms.MLEM(), images=2) <= 40
    assert p.baselines()["MLEM"](7).shape == (7, *x.shape)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="counts"):
        small(counts=0)
    with pytest.raises(ValueError, match="background: expected a number >= 0"):
        small(background=-0.1)
    with pytest.raises(ValueError, match="subsets: expected at most the 12 angles"):
        small(subsets=13)
    with pytest.raises(ValueError, match="images: expected one of"):
        small(images="brains")


@pytest.mark.skipif(mni_template_path() is None, reason="the nilearn wheel is not installed")
def test_mni_slices_as_activity():
    p = small(size=32, angles=24, images="mni", validation_size=2, test_size=3)
    x, y = p.test
    assert y.shape == (3, 1, 24, p.radon.detector)
    assert x.shape == (3, 1, 32, 32) and x.min() >= 0 and x.max() <= 1
    assert p.sample(2)[0].shape == (2, 1, 32, 32)
    assert "MNI152" in p.describe()
