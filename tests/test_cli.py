import re
import subprocess
import sys

import pytest

from unrolled.cli import main

QUICK = ["--seconds", "3", "--layers", "4", "--m", "50", "--n", "100", "--test-size", "64"]


def test_demo_prints_the_table_and_writes_plot_and_report(capsys, tmp_path):
    run_dir = tmp_path / "demo"
    assert main(["demo", *QUICK, "--max-iterations", "300", "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^layer\s+ALISTA\s+ISTA\s+FISTA$", out, re.MULTILINE)
    rows = re.findall(r"^\s*(\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)$", out, re.MULTILINE)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4]
    net_last, ista_last = float(rows[-1][1]), float(rows[-1][2])
    assert net_last < ista_last
    assert "ISTA needs" in out or "ISTA does not reach it" in out
    assert (run_dir / "nmse.png").stat().st_size > 1000
    report = (run_dir / "report.md").read_text()
    assert "| layer |" in report and "nmse.png" in report
    assert (run_dir / "weights.safetensors").exists()


def test_demo_says_more_than_when_classical_never_gets_there(capsys, tmp_path):
    assert main(["demo", *QUICK, "--max-iterations", "1", "--run-dir", str(tmp_path)]) == 0
    assert "does not reach it within 1 iterations" in capsys.readouterr().out


def test_a_demo_reruns_in_its_own_directory_and_never_over_a_training_run(
    capsys, tmp_path, monkeypatch
):
    """The probe's defect: every task's demo wrote to runs/demo, so `make demo` then
    `unrolled demo --task mri` ended in a traceback ('already holds a run')."""
    monkeypatch.chdir(tmp_path)
    quick = [*QUICK, "--seconds", "1", "--max-iterations", "10"]
    assert main(["demo", *quick]) == 0
    assert (tmp_path / "runs/demo/sparse/weights.safetensors").is_file()
    capsys.readouterr()
    assert main(["demo", *quick]) == 0
    assert "Replacing the previous demo run in runs/demo/sparse" in capsys.readouterr().out
    training = tmp_path / "mine"
    training.mkdir()
    (training / "state.safetensors").write_bytes(b"a run of one's own")
    assert main(["demo", *quick, "--run-dir", str(training)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a training run that is not a demo's" in err
    assert (training / "state.safetensors").read_bytes() == b"a run of one's own"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--seconds", "-1"], ["--layers", "0"], ["--seed", "x"]])
def test_bad_arguments(bad, capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", *bad])
    assert info.value.code == 2
    assert bad[0] in capsys.readouterr().err


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "unrolled", "demo", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--seconds" in result.stdout and "--test-size" not in result.stdout


def test_list_shows_every_registered_name(capsys):
    import unrolled as ur
    from unrolled.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ur.list_models():
        assert name in out
    for name in ur.list_models("model"):  # each model's recipe, in one line
        assert f"recipe: {ur.recipe_of(name).summary()}" in out
    assert main(["list", "--kind", "algorithm"]) == 0
    assert "algorithm" in capsys.readouterr().out
