"""`CTReconstruction`: phantoms, low-dose noise models, held-out sets and baselines."""

from __future__ import annotations

import pytest
import torch

from unrolled.data import CTReconstruction, shepp_logan
from unrolled.data import ct as ct_module


def test_sets_are_held_out_and_the_test_starts_with_shepp_logan():
    p = CTReconstruction(32, 8, validation_size=4, test_size=3)
    x_val, y_val = p.validation
    x_test, _ = p.test
    assert x_val.shape == (4, 1, 32, 32) and y_val.shape == (4, 1, 8, p.operator.detector)
    torch.testing.assert_close(x_test[0, 0], shepp_logan(32))
    x, y = p.sample(5)
    assert x.shape == (5, 1, 32, 32) and y.shape == (5, 1, 8, p.operator.detector)
    assert not any(torch.equal(a, b) for a in x for b in torch.cat([x_val, x_test]))
    q = CTReconstruction(32, 8, validation_size=4, test_size=3)
    assert torch.equal(q.sample(5)[1], y)  # seeded: the same stream


def test_gaussian_noise_is_relative_to_the_sinogram():
    p = CTReconstruction(32, 12, level=0.1, validation_size=16, test_size=2)
    x, y = p.validation
    clean = p.operator(x)
    relative = (y - clean).flatten(1).std(1) / clean.abs().flatten(1).mean(1)
    torch.testing.assert_close(relative.mean(), torch.tensor(0.1), rtol=0.05, atol=0)


def test_poisson_noise_falls_with_the_dose():
    errors = []
    for photons in (1e3, 1e5):
        p = CTReconstruction(32, 12, "poisson", photons=photons, validation_size=8, test_size=2)
        x, y = p.validation
        errors.append(float((y - p.operator(x)).square().mean()))
    assert errors[1] < errors[0] / 30  # variance ∝ 1/photons


def test_tv_beats_filtered_back_projection(monkeypatch):
    monkeypatch.setattr(ct_module, "TV_GRID", (3.0, 10.0))
    monkeypatch.setattr(ct_module, "TV_ITERATIONS", 40)
    p = CTReconstruction(48, 15, validation_size=2, test_size=3)
    x, _ = p.test
    scores = {k: p.metric(run(1)[-1], x) for k, run in p.baselines().items()}
    assert scores["TV-FISTA (tuned)"] > scores["FBP (Hann)"] > scores["FBP (ramp)"], scores


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="noise: expected 'gaussian' or 'poisson'"):
        CTReconstruction(16, 4, noise="rician")
    with pytest.raises(ValueError, match="photons: expected a positive finite number"):
        CTReconstruction(16, 4, "poisson", photons=0)
    with pytest.raises(ValueError, match="angles: expected a positive int"):
        CTReconstruction(16, 0)
