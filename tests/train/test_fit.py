import importlib
import json
import math
import os

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.data import SparseCoding
from unrolled.train import fit, load_weights, read_config, read_metrics
from unrolled.train.losses import validation_nmse_db

RUN_FILES = {
    "config.json",
    "metrics.jsonl",
    "weights.safetensors",
    "state.safetensors",
    "state.json",
    "checkpoint.json",  # the SHA-256 of the state and weights, and of the previous ones:
    "state.prev.safetensors",  # the previous checkpoint, kept until the next is complete
    "weights.prev.safetensors",
    "run.lock",  # one writer at a time (fcntl.flock; the holder's PID inside)
}


def setup(layers=4):
    """A tiny problem and unrolled ISTA with a learned step and threshold per layer."""
    problem = SparseCoding(m=20, n=40, validation_size=64, test_size=64)
    net = ur.unroll(ISTA, layers, learn=["step", "threshold"], operator=problem.operator)
    return net, problem


def val_db(net, problem):
    return validation_nmse_db(net, *problem.validation, depth=net.layers)


class Kill(Exception):
    pass


def kill_at(step):
    def callback(info):
        if info["step"] == step:
            raise Kill

    return callback


@pytest.mark.parametrize("schedule", ["end-to-end", "deep-supervision", "layerwise", "stagewise"])
def test_every_schedule_lowers_the_validation_nmse(schedule, tmp_path):
    net, problem = setup()
    before = val_db(net, problem)
    out = fit(net, problem, schedule, run_dir=tmp_path, max_steps=240, lr=0.1, eval_every=10)
    assert out is net
    after = val_db(net, problem)
    assert after < before - 1.0, (before, after)
    records = read_metrics(tmp_path)
    assert {r["stage"] for r in records} == set(range(1, records[0]["stages"] + 1))
    assert records[-1]["step"] == 240 and records[-1]["layer"] == 4
    assert records[0]["train_loss"] is None
    assert all(math.isfinite(r["val_nmse_db"]) for r in records)


def test_run_directory_holds_config_metrics_weights_and_state(tmp_path):
    net, problem = setup()
    fit(net, problem, "stagewise", run_dir=tmp_path, max_steps=60, lr=0.1, eval_every=5)
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES
    config = read_config(tmp_path)
    assert config["model"]["type"] == "Unrolled" and config["model"]["layers"] == 4
    assert config["model"]["learned"] == ["step", "threshold"]
    assert config["fit"]["schedule"] == "stagewise" and config["fit"]["lr"] == 0.1
    assert config["fit"]["refine"] is None and len(config["stages"]) == 12
    assert config["stages"][2]["label"] == "layer 1: refine x0.02"
    record = read_metrics(tmp_path)[-1]
    assert set(record) == {
        "step",
        "stage",
        "stages",
        "label",
        "layer",
        "stage_step",
        "lr",
        "train_loss",
        "val_nmse_db",
        "best_val_nmse_db",
        "seconds",
    }
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["position"]["finished"] and state["position"]["step"] == 60
    fresh, _ = setup()
    load_weights(fresh, tmp_path)
    for (name, a), b in zip(net.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_restore_best_ends_each_stage_at_its_best(tmp_path):
    net, problem = setup()
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=100, lr=0.3, eval_every=5)
    records = read_metrics(tmp_path)
    assert val_db(net, problem) == min(r["val_nmse_db"] for r in records)


@pytest.mark.parametrize(
    "schedule, options",
    [
        ("stagewise", {"patience": 6, "eval_every": 2, "lr_schedule": "cosine"}),
        ("deep-supervision", {"clip": 0.5, "eval_every": 4}),
    ],
)
def test_resume_after_a_kill_is_bit_identical(schedule, options, tmp_path):
    kwargs = dict(max_steps=90, lr=0.1, checkpoint_every=7, progress=False, **options)
    net, problem = setup()
    fit(net, problem, schedule, run_dir=tmp_path / "whole", **kwargs)

    killed, problem2 = setup()
    with pytest.raises(Kill):
        fit(killed, problem2, schedule, run_dir=tmp_path / "cut", callback=kill_at(40), **kwargs)
    state = json.loads((tmp_path / "cut" / "state.json").read_text())
    assert 0 < state["position"]["step"] < 40  # the last checkpoint is behind the kill

    resumed, problem3 = setup()  # a new process: the same model and problem, built afresh
    fit(resumed, problem3, schedule, resume=tmp_path / "cut", **kwargs)
    for (name, a), b in zip(net.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name

    def strip(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert strip(read_metrics(tmp_path / "cut")) == strip(read_metrics(tmp_path / "whole"))
    assert not list((tmp_path / "cut").glob(".*"))


def test_metrics_are_on_disk_at_each_evaluation_and_a_resume_drops_the_unsaved(tmp_path):
    kwargs = dict(max_steps=30, lr=0.1, eval_every=5, checkpoint_every=100, progress=False)
    net, problem = setup()
    with pytest.raises(Kill):
        fit(net, problem, "end-to-end", run_dir=tmp_path, callback=kill_at(23), **kwargs)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["position"]["step"] == 0  # no checkpoint since the start
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 5, 10, 15, 20]
    net, problem = setup()
    fit(net, problem, "end-to-end", resume=tmp_path, **kwargs)
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 5, 10, 15, 20, 25, 30]


def test_resume_twice_and_resume_a_finished_run(tmp_path):
    kwargs = dict(max_steps=50, lr=0.1, checkpoint_every=5, eval_every=5, progress=False)
    net, problem = setup()
    fit(net, problem, "layerwise", **kwargs)
    run = tmp_path / "run"
    cut, p = setup()
    with pytest.raises(Kill):
        fit(cut, p, "layerwise", run_dir=run, callback=kill_at(12), **kwargs)
    cut, p = setup()
    with pytest.raises(Kill):
        fit(cut, p, "layerwise", resume=run, callback=kill_at(33), **kwargs)
    cut, p = setup()
    fit(cut, p, "layerwise", resume=run, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), cut.parameters(), strict=True))
    again, p = setup()
    fit(again, p, "layerwise", resume=run, callback=kill_at(1), **kwargs)  # nothing left to do
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters(), strict=True))


def test_resume_into_another_directory(tmp_path):
    kwargs = dict(max_steps=30, lr=0.1, checkpoint_every=5, progress=False)
    net, problem = setup()
    fit(net, problem, "end-to-end", **kwargs)
    cut, p = setup()
    with pytest.raises(Kill):
        fit(cut, p, "end-to-end", run_dir=tmp_path / "a", callback=kill_at(17), **kwargs)
    cut, p = setup()
    fit(cut, p, "end-to-end", run_dir=tmp_path / "b", resume=tmp_path / "a", **kwargs)
    assert {f.name for f in (tmp_path / "b").iterdir()} == RUN_FILES
    fresh, _ = setup()
    load_weights(fresh, tmp_path / "b")
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), fresh.parameters(), strict=True))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(bad, tmp_path):
    net, problem = setup()
    saved = {}

    def poison(info):
        if info["step"] == 10:  # a checkpoint step (checkpoint_every=5)
            saved["weights"] = {k: v.clone() for k, v in net.state_dict().items()}
        if info["step"] == 12:
            with torch.no_grad():
                net.params["step"][0] = bad  # the loss of step 13 is not finite

    with pytest.raises(FloatingPointError, match=r"at step 13 \(stage 1/1: all layers\)") as err:
        fit(
            net,
            problem,
            "end-to-end",
            run_dir=tmp_path,
            max_steps=50,
            lr=0.1,
            checkpoint_every=5,
            callback=poison,
        )
    assert "step 10" in str(err.value) and "intact" in str(err.value)
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES
    fresh, _ = setup()
    load_weights(fresh, tmp_path)
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, saved["weights"][name]), name
    assert all(r["step"] <= 10 for r in read_metrics(tmp_path))
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["position"]["step"] == 10
    # the checkpoint resumes: a clean model and the same problem stream run to the end
    resumed, p = setup()
    fit(resumed, p, "end-to-end", resume=tmp_path, max_steps=50, lr=0.1, checkpoint_every=5)
    assert math.isfinite(val_db(resumed, p))


def test_nan_gradient_norm_is_caught_when_clipping():
    net, problem = setup()

    def poison(info):
        if info["step"] == 3:  # finite losses from now on, but an infinite gradient
            net.params["step"].register_hook(lambda grad: grad * math.inf)

    with pytest.raises(FloatingPointError, match=r"gradient norm is inf at step 4 \(stage 1/1"):
        fit(net, problem, "end-to-end", max_steps=20, clip=1.0, callback=poison)


def test_stale_temporary_files_are_removed_and_writes_are_atomic(tmp_path, monkeypatch):
    (tmp_path / ".weights.safetensors.abc123.tmp").write_bytes(b"partial")
    net, problem = setup()
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=10, lr=0.1)
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def killed(*args):
        raise Kill

    # a run killed while writing: every file is the old one or the new one, no temporaries
    monkeypatch.setattr(os, "replace", killed)
    cut, p = setup()
    with pytest.raises(Kill):
        fit(cut, p, "end-to-end", resume=tmp_path, max_steps=20, lr=0.1)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    from unrolled.train.checkpoint import atomic_write

    path = tmp_path / "file.json"
    atomic_write(path, b"old")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_step_budget_is_shared_out_between_stages(tmp_path):
    net, problem = setup()
    fit(net, problem, "stagewise", run_dir=tmp_path, max_steps=120, patience=None, eval_every=5)
    records = read_metrics(tmp_path)
    last = {}
    for r in records:
        last[r["stage"]] = r["stage_step"]
    assert last == {s: 10 for s in range(1, 13)}


def test_patience_ends_a_stage_and_leaves_its_share_to_the_next(tmp_path):
    net, problem = setup(layers=2)
    fit(
        net,
        problem,
        "end-to-end",
        run_dir=tmp_path,
        max_steps=400,
        lr=1e-6,  # too small to improve by min_delta: patience ends the stage
        patience=20,
        eval_every=5,
    )
    assert read_metrics(tmp_path)[-1]["step"] == 20
    net, problem = setup(layers=2)
    fit(net, problem, "layerwise", run_dir=tmp_path / "b", max_steps=400, lr=1e-6, patience=10)
    steps = [r["stage_step"] for r in read_metrics(tmp_path / "b")]
    assert steps == [0, 10] * 4  # every stage stops early; the budget is not spent


def test_max_seconds_caps_the_run(tmp_path):
    net, problem = setup()
    fit(net, problem, "stagewise", run_dir=tmp_path, max_seconds=0.5, lr=0.1, patience=None)
    records = read_metrics(tmp_path)
    # the cap, not a floor: the stages' shares net of evaluations may end it a little early
    assert records[-1]["seconds"] < 0.5 + 2.0 and records[-1]["step"] > 0


def test_time_budget_is_shared_out_by_depth(tmp_path, monkeypatch):
    fit_module = importlib.import_module("unrolled.train.fit")  # the module, not the function
    ticks = iter(range(10**9))
    monkeypatch.setattr(fit_module, "_clock", lambda: next(ticks) * 1e-3)  # 1 ms a reading
    net, problem = setup(layers=2)
    fit(net, problem, "layerwise", run_dir=tmp_path, max_seconds=3.0, patience=None)
    records = read_metrics(tmp_path)
    ends = {r["stage"]: r["seconds"] for r in records}
    starts = {r["stage"]: r["seconds"] for r in reversed(records)}
    spent = [ends[s] - starts[s] for s in (1, 2, 3, 4)]
    # shares proportional to depth + 1: 2, 2, 3, 3 out of 10
    assert spent == pytest.approx([0.6, 0.6, 0.9, 0.9], abs=0.02)
    assert 3.0 <= records[-1]["seconds"] <= 3.01


def test_deep_supervision_weights_and_losses(tmp_path):
    for loss in ("nmse_db", "nmse", "mse"):
        net, problem = setup()
        before = val_db(net, problem)
        fit(
            net,
            problem,
            "deep-supervision",
            max_steps=100,
            lr=0.1,
            loss=loss,
            layer_weights=[0, 1, 0, 3],
        )
        assert val_db(net, problem) < before - 1.0, loss


def test_progress_bar_can_be_disabled_or_forced(capsys):
    net, problem = setup()
    fit(net, problem, "end-to-end", max_steps=20, progress=False)
    assert capsys.readouterr().err == ""
    fit(net, problem, "end-to-end", max_steps=20, progress=None)  # not a terminal: off
    assert capsys.readouterr().err == ""
    fit(net, problem, "stagewise", max_steps=24, eval_every=2, progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "val_nmse_db" in err and "layer 4" in err


def test_validation_subset(tmp_path):
    net, problem = setup()
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=5, validation_size=8)
    first = read_metrics(tmp_path)[0]["val_nmse_db"]
    x, y = problem.validation
    fresh, _ = setup()
    assert first == validation_nmse_db(fresh, x[:8], y[:8], depth=4)


def test_a_model_on_another_dtype_trains():
    problem = SparseCoding(m=20, n=40, validation_size=64, test_size=64, dtype=torch.float64)
    net = ur.unroll(ISTA, 3, learn=["step", "threshold"], operator=problem.operator)
    assert net.params["step"].dtype == torch.float64
    before = val_db(net, problem)
    fit(net, problem, "end-to-end", max_steps=50, lr=0.1)
    assert val_db(net, problem) < before
