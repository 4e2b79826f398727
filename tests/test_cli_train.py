"""``unrolled train`` and ``unrolled eval``: configs, runs, resume, and clear errors."""

import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import unrolled as ur
import unrolled.runs as runs
from unrolled.cli import main
from unrolled.config import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

TINY = """\
model: {name: lista-cp, layers: 3}
problem: {name: sparse-coding, m: 20, n: 40, validation_size: 20, test_size: 50}
train:
  schedule: stagewise
  lr: 0.01
  max_steps: 20
  eval_every: 5
  checkpoint_every: 5
  progress: false
"""

ROW = re.compile(r"^\s*(\d+)" + r"\s+(-?\d+\.\d+)" * 3 + r"$", re.MULTILINE)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _problem_of(path: Path) -> str:
    return runs.load_config(path).problem


SPARSE = [p for p in sorted(CONFIGS.glob("*.yaml")) if _problem_of(p) == "sparse-coding"]
MIMO = [p for p in sorted(CONFIGS.glob("*.yaml")) if _problem_of(p) == "mimo-detection"]
RATINGS = [p for p in sorted(CONFIGS.glob("*.yaml")) if _problem_of(p) == "rating-completion"]
IMPLICIT = [p for p in sorted(CONFIGS.glob("*.yaml")) if _problem_of(p) == "implicit-ranking"]
IMAGING = [
    p
    for p in sorted(CONFIGS.glob("*.yaml"))
    if _problem_of(p)
    not in ("sparse-coding", "mimo-detection", "rating-completion", "implicit-ranking")
]


@pytest.mark.parametrize("path", IMAGING, ids=lambda p: p.name)
def test_every_imaging_config_is_a_15_minute_cpu_run_with_a_gpu_twin(path):
    config = runs.load_config(path)
    assert config.train["max_seconds"] <= 900
    assert config.run_dir == f"runs/{path.stem}"
    gpu = runs.load_config(CONFIGS / "gpu" / path.name)
    assert gpu.model == config.model and gpu.problem == config.problem
    assert gpu.run_dir == f"runs/gpu/{path.stem}"
    # Built small: the problem and model kwargs are accepted by the constructors.
    size = 66 if config.problem == "compressive-imaging" else 32
    problem = runs.build_problem(config, size=size, validation_size=2)
    model = runs.build_model(
        replace(config, model_kwargs={**config.model_kwargs, "layers": 2}), problem
    )
    x, y, *A = problem.validation  # a fixed operator (CT) or one per sample
    assert model(y, *A).shape == x.shape


@pytest.mark.parametrize("path", MIMO, ids=lambda p: p.name)
def test_every_mimo_config_builds_and_detects(path):
    config = runs.load_config(path)
    assert config.train["max_seconds"] <= 900
    assert config.run_dir == f"runs/{path.stem}"
    problem = runs.build_problem(config, validation_size=4, test_size=4)
    model = runs.build_model(
        replace(config, model_kwargs={**config.model_kwargs, "layers": 2}), problem
    )
    x, y, A = problem.validation
    assert model(y, A).shape == x.shape


@pytest.mark.parametrize("path", RATINGS, ids=lambda p: p.name)
def test_every_ratings_config_builds_and_completes(path):
    config = runs.load_config(path)
    assert config.problem_kwargs["ratings"] == "movielens-100k"
    assert config.train["max_seconds"] <= 900
    assert config.run_dir == f"runs/{path.stem}"
    problem = runs.build_problem(config, ratings="synthetic")  # MovieLens is not in CI
    model = runs.build_model(config, problem)
    x, y, A = problem.validation
    assert model(y, A).shape == x.shape


@pytest.mark.parametrize("path", IMPLICIT, ids=lambda p: p.name)
def test_every_implicit_config_trains_and_evaluates_on_synthetic_data(path, tmp_path, capsys):
    text = path.read_text().replace("ratings: movielens-100k", "ratings: synthetic")
    text = text.replace("positive: 4.0", "positive: null")  # MovieLens is not in CI
    text = re.sub(r"max_seconds: \d+", "max_steps: 3", text)
    config = write(tmp_path / path.name, text)
    assert runs.load_config(path).train["max_seconds"] <= 900
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"Test Recall@20 of {runs.load_config(path).model}" in out
    assert "popularity" in out
    assert "NDCG@20 at the output" in out


RATINGS_CONFIG = """
model: {name: MODEL, layers: 2, rank: 4}
problem: {name: rating-completion, ratings: synthetic, holdout: 0.1}
train: {schedule: end-to-end, loss: mse, batch_size: 1, max_steps: 3, eval_every: 2, progress: false}
"""


@pytest.mark.parametrize("model", ["soft-impute-net", "als-net"])
def test_train_and_eval_a_ratings_run(tmp_path, capsys, model):
    config = write(tmp_path / "ratings.yaml", RATINGS_CONFIG.replace("MODEL", model))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Test RMSE of" in out and "baseline biases" in out and "MAE at the output" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("1 ", "2 "))]
    assert len(rows) >= 2 and all(0.3 < float(r[1]) < 2.0 for r in rows[-2:])


MIMO_CONFIG = """
model: {name: oamp-net2, layers: 3}
problem: {name: mimo-detection, receive: 4, transmit: 4, snr_db: [5, 15], validation_size: 16, test_size: 64}
train: {schedule: end-to-end, loss: mse, batch_size: 32, max_steps: 3, eval_every: 2, progress: false}
"""


@pytest.mark.parametrize("real", [False, True])
def test_train_and_eval_a_detection_run(tmp_path, capsys, real):
    text = MIMO_CONFIG
    if real:  # DetNet on the real-valued equivalent
        text = text.replace("oamp-net2, layers: 3", "detnet, layers: 3, constellation: qpsk")
        text = text.replace("snr_db: [5, 15]", "snr_db: [5, 15], real: true")
    config = write(tmp_path / "mimo.yaml", text)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Test SER of" in out and "MMSE" in out and "OAMP at the same number of iterations" in out
    assert out.count("e-0") + out.count("e+00") >= 4  # a rate per layer and the references


@pytest.mark.parametrize("path", SPARSE, ids=lambda p: p.name)
def test_every_config_validates_and_builds(path):
    config = runs.load_config(path)
    # 16 layers, the standard benchmark; a variant config follows its paper (LAMP-bg: 6)
    assert config.model_kwargs["layers"] == (16 if path.stem == config.model else 6)
    assert config.problem_kwargs["m"] == 250 and config.problem_kwargs["n"] == 500
    assert config.train["max_seconds"] <= 300
    assert config.run_dir == f"runs/{path.stem}"
    # Built small: the problem and model kwargs are accepted by the constructors.
    problem = runs.build_problem(config, m=20, n=40, validation_size=8, test_size=8)
    model = runs.build_model(
        replace(config, model_kwargs={**config.model_kwargs, "layers": 2}), problem
    )
    assert model(problem.test[1]).shape == (8, 40)


def test_there_is_a_config_for_every_model():
    named = {p.stem for p in CONFIGS.glob("*.yaml")}
    assert set(ur.list_models("model")) <= named
    for variant in named - set(ur.list_models("model")):  # e.g. lamp-bg: a model's variant
        assert variant.startswith(runs.load_config(CONFIGS / f"{variant}.yaml").model + "-")


@pytest.mark.parametrize("name", ["lamp", "lamp-bg"])
def test_lamp_configs_are_borgerdings_problem(name):
    problem = runs.load_config(CONFIGS / f"{name}.yaml").problem_kwargs
    assert problem["snr_db"] == 40 and problem["normalize_columns"] is False


def test_train_then_eval(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"Run: {run}" in out
    assert re.search(r"Final validation NMSE \(dB\): -?\d+\.\d\d \(over 20 validation", out)
    for name in ("config.yaml", "config.json", "metrics.jsonl", "weights.safetensors"):
        assert (run / name).is_file(), name
    assert (run / "config.yaml").read_text() == TINY  # the config as read

    assert main(["eval", str(run), "--test-size", "30"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^layer\s+network\s+ISTA\s+FISTA$", out, re.MULTILINE)
    rows = ROW.findall(out)
    assert [int(r[0]) for r in rows] == [1, 2, 3]
    assert "30 test samples" in out


def test_an_unrolled_classical_algorithm_trains(tmp_path, capsys):
    text = TINY.replace("{name: lista-cp, layers: 3}", "{name: ista, layers: 3, learn: [step]}")
    config = write(tmp_path / "ista.yaml", text)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 0
    assert main(["eval", str(tmp_path / "run")]) == 0
    assert len(ROW.findall(capsys.readouterr().out)) == 3


def test_resume_finishes_an_interrupted_run_as_an_uninterrupted_one(tmp_path, monkeypatch, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["train", str(config), "--run-dir", str(whole)]) == 0

    def stop(info):
        if info["step"] == 12:
            raise KeyboardInterrupt

    real_fit = runs.fit
    monkeypatch.setattr(runs, "fit", lambda *a, **k: real_fit(*a, callback=stop, **k))
    assert main(["train", str(config), "--run-dir", str(cut)]) == 130
    assert "--resume" in capsys.readouterr().err
    monkeypatch.setattr(runs, "fit", real_fit)

    # without --resume the run directory is refused
    assert main(["train", str(config), "--run-dir", str(cut)]) == 2
    assert "--resume" in capsys.readouterr().err

    assert main(["train", str(config), "--run-dir", str(cut), "--resume"]) == 0
    assert "Resuming" in capsys.readouterr().out
    a, b = load_file(whole / "weights.safetensors"), load_file(cut / "weights.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_resume_needs_a_run(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "none"), "--resume"]) == 2
    assert "holds no run to resume" in capsys.readouterr().err


def test_resume_refuses_another_model(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    other = write(tmp_path / "other.yaml", TINY.replace("layers: 3", "layers: 2"))
    assert main(["train", str(other), "--run-dir", str(run), "--resume"]) == 2
    assert "model: the run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("layers: 3", "layrs: 3"), r"model\.layrs: unknown key"),
        (("lr: 0.01", "lr: fast"), r"train\.lr: expected a positive finite number, got 'fast'"),
        (("m: 20", "m: 20.5"), r"problem\.m: expected int"),
        (
            ("name: lista-cp", "name: lista-xp"),
            r"model\.name: unknown model 'lista-xp'; .*'alista'",
        ),
        (
            ("name: sparse-coding", "name: ct"),
            r"problem\.name: unknown problem 'ct'; expected one of \[.*'sparse-coding'.*\]",
        ),
        (("max_steps: 20", "max_stepz: 20"), r"train\.max_stepz: unknown key"),
        (("schedule: stagewise", "schedule: sometimes"), r"train\.schedule: "),
        (("layers: 3", "layers: 3, support: [2, 3]"), r"model\.support: unknown key"),
        (("n: 40", "n: -4"), r"problem\.n: expected a positive int"),
        (("lr: 0.01", "lr: -1"), r"train\.lr: expected a positive"),
        (("max_steps: 20", "max_steps: 20\n  validation_size: 99"), r"train\.validation_size: "),
        (
            ("lista-cp, layers: 3", "lista-cpss, layers: 3, support: [2, 3]"),
            r"model\.support: expected None, 'auto' or a pair",
        ),
        (("model: {", "modle: {"), r"config\.modle: unknown section"),
        (("  lr: 0.01", "  lr: 0.01\n  lr: 0.03"), r"config\.lr: the key is given twice .*line 6"),
        (("train:", "run_dir: ''\ntrain:"), r"run_dir: expected a non-empty path"),
        (("layers: 3", "layers: 1000000000"), r"model\.layers: expected at most 10000"),
        (
            ("lr: 0.01", "lr: &a [&b [&c [&d [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]]]"),
            r"train\.lr: expected .*got \[\[\[\[\.\.\.\]\]\]\]$",
        ),
    ],
)
def test_bad_configs_are_named(change, message, tmp_path, capsys):
    config = write(tmp_path / "bad.yaml", TINY.replace(*change))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("unrolled train: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "run").exists()  # nothing written


def test_restart_max_steps_and_what_a_run_directory_refuses(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--max-steps", "6"]) == 0
    first = load_file(run / "weights.safetensors")
    assert main(["train", str(config), "--run-dir", str(run)]) == 2
    assert "--restart to discard it" in capsys.readouterr().err
    assert main(["train", str(config), "--run-dir", str(run), "--restart", "--max-steps", "6"]) == 0
    again = load_file(run / "weights.safetensors")  # a step budget is reproducible, bitwise
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert main(["train", str(config), "--run-dir", str(run), "--restart", "--resume"]) == 2
    assert "give one of them" in capsys.readouterr().err
    afile = write(tmp_path / "afile", "")
    assert main(["train", str(config), "--run-dir", str(afile)]) == 2
    assert "run_dir: expected a directory, got the file" in capsys.readouterr().err


def test_damaged_runs_are_one_line_errors_with_exit_code_2(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    for name in ("weights.safetensors", "weights.prev.safetensors"):
        (run / name).write_bytes(b"\x00" * 64)
    capsys.readouterr()
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "weights.safetensors: does not match the SHA-256" in err
    (run / "metrics.jsonl").write_text('{"step": 1}\n{"step": ')
    (run / "checkpoint.json").unlink()
    assert main(["train", str(config), "--run-dir", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.jsonl: line 2 is not JSON" in err


def test_config_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.name: required key is missing"):
        runs.check_config({"model": {"layers": 3}, "problem": {"name": "sparse_coding"}})


def test_eval_names_what_is_missing(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "config.yaml") in err


def test_missing_config_file(tmp_path, capsys):
    assert main(["train", str(tmp_path / "no.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "eval"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert ("--max-seconds" in out) if command == "train" else ("--test-size" in out)


def test_the_command_exits_non_zero_without_a_traceback(tmp_path):
    config = write(tmp_path / "bad.yaml", TINY.replace("layers: 3", "layrs: 3"))
    result = subprocess.run(
        [sys.executable, "-m", "unrolled", "train", str(config), "--run-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "model.layrs" in result.stderr
    assert "Traceback" not in result.stderr


NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present here")


@NO_GPU
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "CONFIG", "--device", "cuda"],
        ["eval", "RUN", "--device", "cuda:0"],
        ["demo", "--device", "cuda", "--seconds", "1"],
    ],
    ids=["train", "eval", "demo"],
)
def test_device_cuda_without_a_gpu_says_so(tmp_path, capsys, argv):
    config = write(tmp_path / "tiny.yaml", TINY)
    argv = [{"CONFIG": str(config), "RUN": str(tmp_path)}.get(a, a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(
        rf"^unrolled {argv[0]}: error: --device: 'cuda(:0)?' asked for, but no CUDA GPU is present",
        err,
    ), err
    assert not (tmp_path / "run").exists()


def test_device_names_are_checked(tmp_path, capsys):
    config = write(tmp_path / "tiny.yaml", TINY)
    assert main(["train", str(config), "--device", "gpu"]) == 2
    assert (
        "--device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["train", str(config), "--precision", "fp8"])


def test_modl_trains_on_the_cpu_in_bf16_compiled(tmp_path, capsys, monkeypatch):
    """`unrolled train configs/modl.yaml --device cpu --precision bf16 --compile`, on a
    smaller network and image, two steps. MRI data is complex: `fit` captures the graph
    (forward and backward) without inductor's code generation."""
    compiled = []
    original = torch.compile

    def spy(model, **kwargs):
        compiled.append(kwargs)
        return original(model, **kwargs)

    monkeypatch.setattr(torch, "compile", spy)
    text = (CONFIGS / "modl.yaml").read_text()
    for old, new in (("size: 64", "size: 32"), ("layers: 10", "layers: 2"),
                     ("cg_iterations: 10", "cg_iterations: 3"),
                     ("max_seconds: 840", "max_steps: 2\n  eval_every: 1")):  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    config = write(tmp_path / "modl.yaml", text)
    run = tmp_path / "run"
    argv = ["train", str(config), "--run-dir", str(run), "--device", "cpu"]
    assert main([*argv, "--precision", "bf16", "--compile"]) == 0
    assert compiled == [{"backend": "aot_eager"}]
    used = ur.train.read_config(run)["fit"]
    assert (used["device"], used["precision"], used["compile"]) == ("cpu", "bf16", True)
    assert all(math.isfinite(r["val_psnr_db"]) for r in ur.train.read_metrics(run))
    assert main(["eval", str(run), "--device", "cpu"]) == 0
    assert "PSNR" in capsys.readouterr().out
