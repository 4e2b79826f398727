"""`fit` checks its arguments at the boundary: the error names the argument, what was expected
and what came."""

import pytest
from torch import nn

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.data import SparseCoding
from unrolled.train import fit, load_weights, read_metrics


def setup():
    problem = SparseCoding(m=20, n=40, validation_size=64, test_size=64)
    net = ur.unroll(ISTA, 4, learn=["step", "threshold"], operator=problem.operator)
    return net, problem


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"schedule": "greedy"},
            ValueError,
            r"schedule: expected one of \['end-to-end'.*got 'greedy'",
        ),
        ({"lr": -1e-3}, ValueError, r"lr: expected a positive finite number, got -0.001"),
        ({"lr": float("nan")}, ValueError, "lr: expected a positive finite number"),
        ({"lr": "0.1"}, ValueError, "lr: expected a positive finite number, got '0.1'"),
        ({"lr_factors": 0.1}, TypeError, "lr_factors: expected a mapping .* got float"),
        ({"lr_factors": {"step": 0}}, ValueError, r"lr_factors\['step'\]: expected a positive"),
        (
            {"lr_factors": {"W": 0.1}},
            ValueError,
            r"lr_factors: 'W' is not a learned param .* \['step', 'threshold'\]",
        ),
        ({"batch_size": 0}, ValueError, "batch_size: expected a positive int, got 0"),
        ({"batch_size": 8.0}, ValueError, "batch_size: expected a positive int"),
        (
            {"loss": "l1"},
            ValueError,
            r"loss: expected one of \['nmse_db', 'nmse', 'mse', 'softmax', 'bpr'\], got 'l1'",
        ),
        (
            {"schedule": "end-to-end", "layer_weights": [1, 1, 1, 1]},
            ValueError,
            "layer_weights: only the 'deep-supervision' schedule",
        ),
        (
            {"schedule": "deep-supervision", "layer_weights": [1, 1]},
            ValueError,
            "layer_weights: expected 4 weights",
        ),
        (
            {"schedule": "deep-supervision", "layer_weights": [1, -1, 1, 1]},
            ValueError,
            "layer_weights: expected non-negative",
        ),
        ({"schedule": "deep-supervision", "layer_weights": 1.0}, TypeError, "layer_weights"),
        ({"schedule": "end-to-end", "refine": [0.1]}, ValueError, "refine: only the"),
        ({"refine": [0.1, 0]}, ValueError, r"refine: expected positive .* got \[0.1, 0.0\]"),
        ({"refine": "0.1"}, TypeError, "refine: expected a sequence"),
        ({"decay": 1.5}, ValueError, r"decay: expected a number in \(0, 1\], got 1.5"),
        ({"schedule": "deep-supervision", "decay": 0.5}, ValueError, "decay: only the"),
        ({"patience": 0}, ValueError, "patience: expected a positive int or None, got 0"),
        ({"min_delta": -0.1}, ValueError, "min_delta: expected a finite number >= 0"),
        ({"eval_every": None}, ValueError, "eval_every: expected a positive int, got None"),
        ({"validation_size": 65}, ValueError, "validation_size: expected at most the problem's 64"),
        ({"lr_schedule": "linear"}, ValueError, "lr_schedule: expected one of"),
        ({"clip": 0}, ValueError, "clip: expected a positive finite number or None, got 0"),
        ({"max_steps": -5}, ValueError, "max_steps: expected a positive int or None, got -5"),
        ({"max_seconds": 0}, ValueError, "max_seconds: expected a positive finite number"),
        ({"stage_steps": 1.5}, ValueError, "stage_steps: expected a positive int or None"),
        ({"checkpoint_every": 0}, ValueError, "checkpoint_every: expected a positive int"),
        ({"restore_best": 1}, TypeError, "restore_best: expected a bool, got 1"),
        ({"progress": "yes"}, TypeError, "progress: expected True, False or None"),
        ({"callback": 3}, TypeError, "callback: expected a callable"),
        ({"run_dir": 3}, TypeError, "run_dir: expected a directory path or None, got int"),
        (
            {"max_steps": None, "patience": None},
            ValueError,
            "max_steps, max_seconds, stage_steps, patience: expected at least one way",
        ),
        (
            {"max_steps": None, "lr_schedule": "cosine"},
            ValueError,
            "lr_schedule: 'cosine' decays over each stage's budget",
        ),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, match):
    net, problem = setup()
    kwargs = {"max_steps": 10, **kwargs}
    with pytest.raises(error, match=match):
        fit(net, problem, **kwargs)


def test_bad_model_and_problem():
    net, problem = setup()
    with pytest.raises(TypeError, match=r"model: expected an unrolled network .* got Linear"):
        fit(nn.Linear(2, 2), problem, max_steps=1)
    with pytest.raises(ValueError, match="model: expected at least one parameter to learn"):
        fit(ur.unroll(ISTA, 2, operator=problem.operator), problem, max_steps=1)
    with pytest.raises(
        TypeError, match=r"problem: expected a problem with .sample\(batch\).*got int"
    ):
        fit(net, 3, max_steps=1)


def test_run_dir_and_resume_errors(tmp_path):
    net, problem = setup()
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=5)
    with pytest.raises(ValueError, match=r"run_dir: .* already holds a run .* pass resume="):
        fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=5)
    with pytest.raises(
        FileNotFoundError, match=r"resume: expected a run directory, got .*elsewhere'"
    ):
        fit(net, problem, "end-to-end", resume=tmp_path / "elsewhere", max_steps=5)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"resume: .*empty' holds no state.safetensors"):
        fit(net, problem, "end-to-end", resume=tmp_path / "empty", max_steps=5)
    with pytest.raises(ValueError, match=r"resume: expected .*; lr: the run had 0.001, got 0.1"):
        fit(net, problem, "end-to-end", resume=tmp_path, max_steps=5, lr=0.1)
    other = ur.unroll(ISTA, 4, learn=["step"], operator=problem.operator)
    with pytest.raises(ValueError, match=r"resume: .* model: the run trained parameters"):
        fit(other, problem, "end-to-end", resume=tmp_path, max_steps=5)
    with pytest.raises(FileNotFoundError, match=r"run_dir: .* holds no weights.safetensors"):
        load_weights(net, tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="run_dir: expected a run directory"):
        read_metrics(tmp_path / "missing")
