"""Recipes: `fit(model, problem)` trains as the model's recipe says; arguments override it field
by field; what depends on the problem is derived from it; a time budget reaches every layer."""

import importlib
import json
import math

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.data import SparseCoding
from unrolled.models._common import SUPPORT, noise_std_of, sparsity_of, support_for_sparsity
from unrolled.train import fit, read_metrics
from unrolled.train.config import DEFAULTS, prepare_model, resolve_settings


def small(sparsity=0.1, m=20, n=40, **kwargs):
    return SparseCoding(m, n, sparsity, validation_size=64, test_size=64, **kwargs)


def fit_settings(run_dir):
    return json.loads((run_dir / "config.json").read_text())["fit"]


def test_fit_without_arguments_uses_the_recipe(tmp_path):
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=3)
    fit(net, problem, max_steps=6, run_dir=tmp_path, progress=False)
    settings = fit_settings(tmp_path)
    for key, value in net.recipe.settings.items():
        assert settings[key] == value, key
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["recipe"] == net.recipe.summary()


def test_explicit_arguments_override_the_recipe_field_by_field(tmp_path):
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=3)
    fit(net, problem, max_steps=6, lr=5e-3, batch_size=8, run_dir=tmp_path, progress=False)
    settings = fit_settings(tmp_path)
    assert (settings["lr"], settings["batch_size"]) == (5e-3, 8)
    assert settings["schedule"] == net.recipe.settings["schedule"]
    assert settings["patience"] == net.recipe.settings["patience"]


def test_a_model_without_a_recipe_trains_with_the_library_defaults(tmp_path):
    problem = small()
    net = ur.unroll(ISTA, 3, learn=["step"], operator=problem.operator)
    assert getattr(net, "recipe", None) is None
    fit(net, problem, max_steps=6, run_dir=tmp_path, progress=False)
    settings = fit_settings(tmp_path)
    assert {k: settings[k] for k in ("schedule", "lr", "batch_size", "loss")} == {
        k: DEFAULTS[k] for k in ("schedule", "lr", "batch_size", "loss")
    }


def test_annealing_and_no_early_stop_need_a_budget():
    problem = small()
    net = ur.unroll(ISTA, 2, learn=["step"], operator=problem.operator)
    net.recipe = ur.Recipe({"lr_schedule": "cosine", "patience": None})
    free = resolve_settings(net, problem, {})
    assert (free["lr_schedule"], free["patience"]) == ("constant", DEFAULTS["patience"])
    budgeted = resolve_settings(net, problem, {"max_steps": 10})
    assert (budgeted["lr_schedule"], budgeted["patience"]) == ("cosine", None)
    explicit = resolve_settings(net, problem, {"lr_schedule": "cosine", "max_steps": 3})
    assert explicit["lr_schedule"] == "cosine"


def test_unknown_settings_are_named():
    problem = small()
    net = ur.unroll(ISTA, 2, learn=["step"], operator=problem.operator)
    with pytest.raises(ValueError, match="lrate: not a training setting"):
        resolve_settings(net, problem, {"lrate": 1.0})
    net.recipe = ur.Recipe({"lrate": 1.0})
    with pytest.raises(ValueError, match=r"model\.recipe: 'lrate' is not a training setting"):
        fit(net, problem, max_steps=1, progress=False)


def test_two_sparsities_give_two_support_schedules():
    schedules = []
    for sparsity in (0.05, 0.15):
        problem = small(sparsity)
        net = ur.create("lista-cpss", operator=problem.operator, layers=3)
        assert net.algorithm.support == SUPPORT  # until fit prepares it
        fit(net, problem, max_steps=2, progress=False)
        schedules.append(net.algorithm.support)
    assert schedules == [support_for_sparsity(0.05), support_for_sparsity(0.15)]
    assert support_for_sparsity(0.1) == pytest.approx(SUPPORT)


def test_an_explicit_support_is_left_alone():
    problem = small(0.05)
    net = ur.create("alista", operator=problem.operator, layers=3, support=(0.02, 0.2))
    fit(net, problem, max_steps=2, progress=False)
    assert net.algorithm.support == (0.02, 0.2)


def test_sparsity_is_measured_when_the_problem_does_not_state_it():
    class Unstated:
        def __init__(self, problem):
            self.validation = problem.validation

    problem = SparseCoding(30, 60, 0.2, validation_size=500)
    assert sparsity_of(problem) == 0.2
    assert sparsity_of(Unstated(problem)) == pytest.approx(0.2, abs=0.01)
    zeros = Unstated(problem)
    zeros.validation = (torch.zeros(4, 60), torch.zeros(4, 30))
    with pytest.raises(ValueError, match="all zero"):
        sparsity_of(zeros)


def test_the_rate_of_a_matrix_model_follows_its_size():
    rates = []
    for m, n in ((100, 200), (400, 800)):
        problem = small(m=m, n=n)
        net = ur.create("lista-cpss", operator=problem.operator, layers=2)
        rates.append(resolve_settings(net, problem, {})["lr"])
    assert rates[0] == pytest.approx(2 * rates[1], rel=0.01)  # 4x the rows, half the rate


@pytest.mark.parametrize("schedule", ["layerwise", "stagewise"])
def test_a_short_time_budget_still_trains_every_layer(schedule, monkeypatch):
    fit_module = importlib.import_module("unrolled.train.fit")
    ticks = iter(range(10**9))
    monkeypatch.setattr(fit_module, "_clock", lambda: next(ticks) * 1e-3)  # 1 ms a reading
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=8)
    trained = set()
    fit(
        net,
        problem,
        schedule=schedule,
        max_seconds=0.05,  # far too short for 8 layers' stages and their evaluations
        progress=False,
        callback=lambda info: trained.add(info["layer"]),
    )
    assert trained == set(range(1, 9))


def test_every_layer_is_trained_and_refined_within_a_sufficient_budget(tmp_path, monkeypatch):
    fit_module = importlib.import_module("unrolled.train.fit")
    ticks = iter(range(10**9))
    monkeypatch.setattr(fit_module, "_clock", lambda: next(ticks) * 1e-3)
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=4)
    fit(net, problem, max_seconds=4.0, patience=None, run_dir=tmp_path, progress=False)
    records = read_metrics(tmp_path)
    stages = {r["stage"] for r in records}
    assert stages == set(range(1, 9))  # 4 layers, each new then refined
    assert all(max(r["stage_step"] for r in records if r["stage"] == s) > 10 for s in stages)
    assert records[-1]["seconds"] <= 4.0 + 0.05


def test_a_recipe_setting_of_another_schedule_gives_way_to_the_chosen_schedule():
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=2)
    net.recipe = ur.Recipe({"schedule": "layerwise", "refine": (0.5,), "warm_start": True})
    settings = resolve_settings(net, problem, {"schedule": "end-to-end"})
    assert (settings["refine"], settings["warm_start"]) == (None, False)
    fit(net, problem, schedule="end-to-end", max_steps=2, progress=False)  # no error
    with pytest.raises(ValueError, match="warm_start: only the 'layerwise' and 'stagewise'"):
        fit(net, problem, schedule="end-to-end", warm_start=True, max_steps=2, progress=False)


def test_warm_start_gives_a_new_layer_the_previous_layers_values(tmp_path):
    problem = small()
    net = ur.create("alista", operator=problem.operator, layers=3)
    starts = {}

    def record(info):
        if info["stage_step"] == 1:  # after the stage's first step: its start was the copy
            starts.setdefault(info["layer"], net.param_values()["theta"].detach().clone())

    fit(
        net,
        problem,
        schedule="layerwise",
        max_steps=60,
        warm_start=True,
        lr=5e-2,
        progress=False,
        callback=record,
    )
    theta = starts[3]  # layer 2 trained (frozen now), layer 3 one step from its start
    untrained = ur.create("alista", operator=problem.operator, layers=3)
    initial = float(untrained.param_values()["theta"][2].detach())
    assert abs(float(theta[1]) - initial) > 0.1 * initial  # layer 2 moved in its stages
    assert float(theta[2]) == pytest.approx(float(theta[1]), rel=0.06)  # layer 3 began there


def test_copy_layer_copies_untied_params_and_per_layer_modules():
    problem = small()
    net = ur.unroll(
        ISTA,
        3,
        learn=["step"],
        replace={"prox": lambda k: torch.nn.Linear(40, 40)},
        operator=problem.operator,
    )
    with torch.no_grad():
        net.params["step"][0] = 3.0
    net.copy_layer(0, 2)
    assert net.params["step"][2] == 3.0 and net.params["step"][1] != 3.0
    torch.testing.assert_close(net.slots["prox"][2].weight, net.slots["prox"][0].weight)
    with pytest.raises(ValueError, match=r"target: expected a layer in \[0, 3\), got 3"):
        net.copy_layer(0, 3)


def test_heavy_noise_raises_the_starting_threshold_and_a_trained_one_is_left_alone():
    quiet, loud = small(snr_db=30.0), small(snr_db=0.0)
    thresholds = []
    for problem in (quiet, loud):
        net = ur.create("lista-cpss", operator=problem.operator, layers=2)
        before = net.param_values()["theta"].detach().clone()
        prepare_model(net, problem)
        thresholds.append((before, net.param_values()["theta"].detach()))
    (before, after), (_, raised) = thresholds
    torch.testing.assert_close(after, before)  # 30 dB: the model's own λ/L start
    universal = loud.noise_std * (2 * math.log(40)) ** 0.5 / float(loud.operator.lipschitz())
    torch.testing.assert_close(raised, torch.full_like(raised, universal))
    net = ur.create("lista-cpss", operator=loud.operator, layers=2)
    fit(net, loud, max_steps=3, progress=False)  # prepared, then trained
    trained = net.param_values()["theta"].detach().clone()
    prepare_model(net, loud)
    torch.testing.assert_close(net.param_values()["theta"].detach(), trained)
    with pytest.raises(ValueError, match="theta: has been trained"):
        net.set_initial("theta", 0.5)


def test_the_noise_level_is_measured_when_the_problem_does_not_state_it():
    class Unstated:
        def __init__(self, problem):
            self.validation = problem.validation

    problem = SparseCoding(30, 60, 0.2, snr_db=10.0, validation_size=500)
    measured = noise_std_of(Unstated(problem), problem.operator)
    assert measured == pytest.approx(problem.noise_std, rel=0.05)
