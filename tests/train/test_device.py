"""Devices, precision and compiled steps (`unrolled.train.device`, `fit`'s ``device``,
``precision`` and ``compile``), and the host reads of a training step."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

import unrolled as ur
from unrolled.algorithms import ISTA
from unrolled.data import SparseCoding
from unrolled.metrics import nmse_db
from unrolled.train import Precision, fit, read_config, read_metrics, resolve_device
from unrolled.train.device import OnDevice, move

fit_module = importlib.import_module("unrolled.train.fit")

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present here")


def setup(layers=3):
    problem = SparseCoding(m=20, n=40, validation_size=64, test_size=64)
    net = ur.unroll(ISTA, layers, learn=["step", "threshold"], operator=problem.operator)
    return net, problem


def test_auto_and_cpu_resolve_here():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@NO_GPU
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_a_clear_error(name):
    with pytest.raises(ValueError, match=rf"device: '{name}' asked for, but no CUDA GPU"):
        resolve_device(name)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("gpu", ValueError, "expected 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
        ("meta", ValueError, "got 'meta'"),
        (0, TypeError, "device: expected .* got int"),
    ],
)
def test_bad_devices_are_named(value, error, match):
    with pytest.raises(error, match=match):
        resolve_device(value)


def test_precision_is_checked():
    with pytest.raises(ValueError, match=r"precision: expected one of \['fp32', 'bf16', 'fp16'\]"):
        Precision("fp64", torch.device("cpu"))
    with pytest.raises(ValueError, match="precision: 'fp16' needs a GPU"):
        Precision("fp16", torch.device("cpu"))
    assert Precision("fp32", torch.device("cpu")).scaler is None
    with Precision("bf16", torch.device("cpu")).autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


def test_fit_rejects_bad_settings_before_training():
    net, problem = setup()
    with pytest.raises(ValueError, match="precision: expected one of"):
        fit(net, problem, max_steps=2, precision="half")
    with pytest.raises(TypeError, match="compile: expected a bool"):
        fit(net, problem, max_steps=2, compile="yes")
    with pytest.raises(TypeError, match="device: expected"):
        fit(net, problem, max_steps=2, device=1)


def test_move_carries_tensors_operators_and_containers():
    A = ur.Matrix(torch.randn(3, 4))
    x = torch.ones(2)
    moved = move({"a": (x, [A]), "b": 3}, torch.device("cpu"))
    assert moved["a"][0] is x and moved["a"][1][0] is A and moved["b"] == 3
    net, problem = setup()
    on = OnDevice(net, torch.device("cpu"))
    x, y = problem.test
    assert torch.equal(on(y), net(y)) and on.layers == net.layers


def test_bf16_training_lowers_the_error_and_keeps_fp32_weights(tmp_path):
    net, problem = setup()
    x, y = problem.validation
    before = float(nmse_db(net(y).detach(), x))
    fit(net, problem, "end-to-end", max_steps=60, lr=0.05, precision="bf16", run_dir=tmp_path)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert float(nmse_db(net(y).detach(), x)) < before - 1.0
    assert read_config(tmp_path)["fit"]["precision"] == "bf16"


def test_a_compiled_training_step_trains_as_the_eager_one():
    """Inductor's code for a small network: the same trajectory to float tolerance."""
    torch._dynamo.reset()
    nets = []
    for compile in (False, True):
        net, problem = setup()
        fit(net, problem, "end-to-end", max_steps=5, lr=0.05, compile=compile, progress=False)
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_losses_read_at_evaluations_match_losses_read_every_step(tmp_path, monkeypatch):
    """The GPU's way (losses kept on the device, read at each evaluation) records the same
    training losses as reading each step."""
    runs = []
    for each_step in (True, False):
        monkeypatch.setattr(fit_module, "_reads_each_step", lambda *_, e=each_step: e)
        net, problem = setup()
        run = tmp_path / str(each_step)
        fit(net, problem, "end-to-end", max_steps=20, lr=0.05, eval_every=5, run_dir=run)
        runs.append([r["train_loss"] for r in read_metrics(run)])
    assert runs[0] == runs[1]
    assert all(v is None or math.isfinite(v) for v in runs[0])


def test_a_nan_read_late_names_its_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(fit_module, "_reads_each_step", lambda *_: False)
    net, problem = setup()

    def poison(info):
        if info["step"] == 12:
            with torch.no_grad():
                net.params["step"][0] = math.nan  # the loss of step 13 is not finite

    with pytest.raises(FloatingPointError) as err:
        fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=50, lr=0.1, eval_every=5,
            checkpoint_every=5, callback=poison)  # fmt: skip
    message = str(err.value)
    assert "loss is nan at step 13 (stage 1/1: all layers)" in message
    assert "read at step 15" in message and "moved since step 13" in message
    assert "(step 10) is intact" in message
    assert all(r["step"] <= 10 for r in read_metrics(tmp_path))
