import re
import subprocess
import sys

import pytest

from unrolled.cli import main

QUICK = ["--seconds", "2", "--layers", "4", "--m", "50", "--n", "200", "--test-size", "200"]


def test_demo_prints_the_table(capsys):
    assert main(["demo", *QUICK, "--ista-iterations", "200"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^layer\s+ISTA\s+unrolled ISTA$", out, re.MULTILINE)
    rows = re.findall(r"^\s*(\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)$", out, re.MULTILINE)
    assert [int(k) for k, _, _ in rows] == [1, 2, 3, 4]
    ista_last, net_last = float(rows[-1][1]), float(rows[-1][2])
    assert net_last < ista_last  # training from ISTA's own parameters improves on it
    assert "Classical ISTA needs" in out


def test_demo_says_more_than_when_ista_never_gets_there(capsys):
    assert main(["demo", *QUICK, "--ista-iterations", "1"]) == 0
    assert "more than 4 iterations" in capsys.readouterr().out


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
    assert main(["list", "--kind", "algorithm"]) == 0
    assert "algorithm" in capsys.readouterr().out
