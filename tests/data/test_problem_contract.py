"""The problem protocol over the registry: every registered problem, built small, gives
samples and fixed sets of one layout, a metric that scores them, baselines in the test set's
layout, and a description (`unrolled.data.Problem`)."""

from __future__ import annotations

import math

import pytest
import torch

import unrolled as ur
from unrolled.data import Problem
from unrolled.metrics import Metric

BUILDERS = {
    "sparse-coding": lambda: ur.data.SparseCoding(20, 40, validation_size=6, test_size=5),
    "compressive-imaging": lambda: ur.data.CompressiveImaging(66, validation_size=2),
    "deblurring": lambda: ur.data.Deblurring(32, kernel_size=7, validation_size=2),
    "mri-reconstruction": lambda: ur.data.MRIReconstruction(32, validation_size=2),
    "super-resolution": lambda: ur.data.SuperResolution(32, validation_size=2),
    "mimo-detection": lambda: ur.data.MIMODetection(4, 2, validation_size=6, test_size=5),
    "rating-completion": lambda: ur.data.RatingCompletion(
        ur.data.synthetic_ratings(30, 40, density=0.2, seed=1)
    ),
    "implicit-ranking": lambda: ur.data.ImplicitRanking(
        ur.data.synthetic_ratings(40, 30, density=0.3, seed=1), positive=None
    ),
    "ct-reconstruction": lambda: ur.data.CTReconstruction(24, 6, validation_size=3, test_size=3),
    "emission-tomography": lambda: ur.data.EmissionTomography(
        24, 12, subsets=3, validation_size=3, test_size=3
    ),
}
PROBLEMS = ur.list_models("problem")


def test_every_registered_problem_has_a_builder():
    assert set(PROBLEMS) == set(BUILDERS)


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_protocol(name, monkeypatch):
    if name == "ct-reconstruction":  # its TV baseline tunes on a grid: one weight is enough
        monkeypatch.setattr(ur.data.ct, "TV_GRID", (10.0,))
        monkeypatch.setattr(ur.data.ct, "TV_ITERATIONS", 5)
    if name == "emission-tomography":  # its EM baselines tune stops and a weight: a few suffice
        monkeypatch.setattr(ur.data.emission, "MAX_ITERATIONS", 5)
        monkeypatch.setattr(ur.data.emission, "MAP_GRID", (0.1,))
        monkeypatch.setattr(ur.data.emission, "MAP_ITERATIONS", 5)
    for constant in dir(ur.data.classical):  # the imaging baselines: the path, not convergence
        if constant.endswith("_ITERATIONS"):
            monkeypatch.setattr(ur.data.classical, constant, 5)
    p = BUILDERS[name]()
    assert isinstance(p, Problem) and ur.core.get(name) is type(p)
    sample, validation, test = p.sample(2), p.validation, p.test
    assert len(sample) == len(validation) == len(test) in (2, 3)
    for a, b in zip(sample[:2], validation[:2], strict=True):
        assert a.shape[1:] == b.shape[1:] and a.dtype == b.dtype
    metric = p.metric
    assert isinstance(metric, Metric) and all(isinstance(m, Metric) for m in p.extra_metrics)
    x = test[0]
    perfect = metric(x.clone(), x)  # the best score there is (±inf for a log score)
    assert not math.isnan(perfect)
    assert not metric.improves(metric(torch.zeros_like(x), x), perfect)
    for label, run in p.baselines().items():
        estimates = run(3)
        assert estimates.shape[1:] == x.shape, label
        assert estimates.shape[0] in (1, 3), label
        assert not math.isnan(metric(estimates[-1], x)), label
    assert isinstance(p.describe(), str) and p.describe()
    assert p.to("cpu") is p


def test_a_perfect_estimate_scores_best():
    p = BUILDERS["sparse-coding"]()
    x = p.test[0]
    assert p.metric(x.clone(), x) == -math.inf
    noisy = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert p.metric(noisy, x) > -math.inf
