"""fit's defences against bad data and bad scores (issue 22): NaN/Inf rejected at the boundary,
a NaN validation an error rather than a score."""

import pytest
import torch

from tests.train.test_fit import RUN_FILES, setup
from unrolled.train import fit, load_weights


class Poisoned:
    """A problem whose validation measurements or batches hold a NaN (the probe's defect: with
    one NaN in the validation y, training ended at its initial weights without a word)."""

    def __init__(self, problem, validation=False, batch=False):
        self.problem, self.poison_validation, self.poison_batch = problem, validation, batch
        self.operator, self.metric = problem.operator, problem.metric

    @property
    def validation(self):
        x, y = self.problem.validation
        if self.poison_validation:
            y = y.clone()
            y[3, 0] = torch.nan
        return x, y

    def sample(self, batch):
        x, y = self.problem.sample(batch)
        if self.poison_batch:
            y = y.clone()
            y[0, 1] = torch.inf
        return x, y


def test_nan_in_the_validation_set_is_refused_before_training(tmp_path):
    net, problem = setup()
    with pytest.raises(
        ValueError,
        match=r"problem.validation: y: .* NaN or Inf in 1 of 64 samples \(the first: sample 3\); pass check_finite=False",
    ):
        fit(net, Poisoned(problem, validation=True), "end-to-end", max_steps=5, run_dir=tmp_path)
    assert not (tmp_path / "state.safetensors").exists()


def test_a_nan_score_stops_training_instead_of_ranking_best(tmp_path):
    net, problem = setup()
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(
        FloatingPointError,
        match=r"validation at step 0 \(stage 1/1: all layers\): the network's output is NaN or Inf on 1 of 64 validation samples",
    ):
        fit(
            net,
            Poisoned(problem, validation=True),
            "end-to-end",
            max_steps=60,
            run_dir=tmp_path,
            check_finite=False,
        )
    for name, value in net.state_dict().items():  # nothing trained on a score of NaN
        assert torch.equal(value, initial[name]), name


def test_a_network_turning_nan_mid_run_stops_at_that_evaluation(tmp_path):
    net, problem = setup()

    def poison(info):
        if info["step"] == 12:
            with torch.no_grad():
                net.params["threshold"][1] = torch.nan  # the loss is checked: NaN from step 13

    with pytest.raises(FloatingPointError, match=r"at step 13"):
        fit(
            net,
            problem,
            "end-to-end",
            max_steps=40,
            eval_every=5,
            checkpoint_every=10,
            run_dir=tmp_path,
            callback=poison,
        )
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES
    fresh, _ = setup()
    load_weights(fresh, tmp_path)  # the checkpoint of step 10, finite
    assert all(torch.isfinite(v).all() for v in fresh.state_dict().values())


def test_the_first_batch_is_checked(tmp_path):
    net, problem = setup()
    with pytest.raises(
        ValueError,
        match=r"problem.sample \(the batch of step 1\): y: .* 1 of 64 samples \(the first: sample 0\)",
    ):
        fit(net, Poisoned(problem, batch=True), "end-to-end", max_steps=5)
    net, problem = setup()
    with pytest.raises(TypeError, match="check_finite: expected a bool"):
        fit(net, problem, "end-to-end", max_steps=5, check_finite="no")
