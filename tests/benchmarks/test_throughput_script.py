"""The throughput benchmark runs end to end (one step per measurement, no timing asserted)."""

import json

import pytest
import torch

from tests.benchmarks._load import load as load_script


def load():
    return load_script("throughput")


def test_a_quick_run_writes_each_model_and_mode_and_the_table(tmp_path, capsys):
    out = tmp_path / "throughput.json"
    argv = ["--steps", "1", "--models", "alista", "oamp-net2", "--modes", "eager", "bf16"]
    load().main([*argv, "--out", str(out)])
    data = json.loads(out.read_text())
    entry = data["devices"]["cpu"]
    for model in ("alista", "oamp-net2"):
        for mode in ("eager", "bf16"):
            r = entry["models"][model][mode]
            assert "error" not in r, r
            assert r["ms_per_step"] > 0 and r["samples_per_second"] > 0
            assert 0 <= r["busy"] <= 1
    assert entry["models"]["alista"]["eager"]["config"] == "configs/alista.yaml"
    table = capsys.readouterr().out
    assert "| alista (`configs/alista.yaml`) | 64 |" in table


def test_each_step_is_fits_training_step_on_the_recipes_batch():
    step, batch, path = load().stepper("oamp-net2", "eager", torch.device("cpu"), gpu=False)
    assert batch > 0 and path == "configs/oamp-net2.yaml"
    step()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present here")
def test_asking_for_a_missing_gpu_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load().main(["--device", "cuda", "--out", str(tmp_path / "t.json")])
    assert "--device: 'cuda' asked for, but no CUDA GPU" in capsys.readouterr().err


def test_the_gpu_script_runs_on_the_cpu_with_a_tiny_budget(tmp_path):
    """benchmarks/gpu.py, the one script a lent GPU runs, end to end on the CPU."""
    gpu = load_script("gpu")
    argv = ["--device", "cpu", "--steps", "1", "--configs", "alista", "oamp-net2"]
    argv += ["--models", "oamp-net2", "--modes", "eager"]
    report = gpu.main([*argv, "--out-dir", str(tmp_path)])
    assert report["steps_with_host_syncs"] == []
    assert {k: v["host_syncs"] for k, v in report["sync_check"].items()} == {
        "alista": "none",
        "oamp-net2": "none",
    }
    assert (tmp_path / "sync_check_cpu.json").is_file()
    data = json.loads((tmp_path / "throughput.json").read_text())
    assert set(data["devices"]["cpu"]["models"]) == {"oamp-net2"}
