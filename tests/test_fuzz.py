"""The CLI under fuzzing (issue 22): random changes to a config and random damage to a run
directory end in success or in one line naming the key or the file, exit code 2, never a
traceback or a hang."""

import contextlib
import shutil
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unrolled.cli import main

BASE = {
    "model": {"name": "lista-cp", "layers": 2},
    "problem": {"name": "sparse-coding", "m": 10, "n": 20, "validation_size": 8, "test_size": 8},
    "train": {
        "schedule": "stagewise",
        "lr": 0.01,
        "max_steps": 4,
        "eval_every": 2,
        "checkpoint_every": 2,
        "progress": False,
    },
}
#: Every key a fuzzed config may change, by section (the budget stays: a run must end).
KEYS = [(section, key) for section, values in BASE.items() for key in values if key != "max_steps"]
#: Bounded so that no value asks for more memory than the test machine has.
VALUES = st.one_of(
    st.integers(-3, 10**5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-2, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # CI sees the same inputs every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def hang_guard(seconds: int = 60):
    """Fail, rather than wait for ever, when a command hangs (a bound, not a timing)."""

    def stop(*_):
        raise AssertionError(f"the command ran past {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv, capsys):
    capsys.readouterr()
    with hang_guard():
        code = main(argv)
    out = capsys.readouterr()
    assert code in (0, 2), (argv, code, out.err)
    if code == 2:
        assert out.err.count("\n") == 1 and " error: " in out.err, out.err
        assert "Traceback" not in out.err
    return code, out.err


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@given(
    where=st.sampled_from([*KEYS, ("model", "extra"), ("train", "extra"), ("problem", "extra")]),
    value=VALUES,
    drop=st.booleans(),
)
@FUZZ
def test_fuzzed_configs_end_in_success_or_a_named_key(where, value, drop, tmp_path, capsys):
    section, key = where
    config = {s: dict(v) for s, v in BASE.items()}
    if drop and key in config[section]:
        del config[section][key]
    else:
        config[section][key] = value
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    shutil.rmtree(run, ignore_errors=True)
    code, err = run_cli(["train", str(path), "--run-dir", str(run)], capsys)
    if code == 2:
        assert key in err or section in err or "config" in err, err
        assert not (run / "checkpoint.json").exists()  # a failed start leaves no run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(BASE))
    assert main(["train", str(config), "--run-dir", str(root / "run")]) == 0
    return config, root / "run"


@given(
    name=st.sampled_from(
        [
            "weights.safetensors",
            "state.safetensors",
            "checkpoint.json",
            "metrics.jsonl",
            "config.json",
            "config.yaml",
            "state.prev.safetensors",
        ]
    ),
    damage=st.sampled_from(["flip", "truncate", "random", "delete"]),
    offset=st.floats(0, 1),
    data=st.binary(min_size=1, max_size=64),
)
@FUZZ
def test_damaged_run_directories_are_named_never_misread(
    trained, name, damage, offset, data, tmp_path, capsys
):
    config, source = trained
    run = tmp_path / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(source, run)
    path = run / name
    content = path.read_bytes()
    at = int(offset * max(len(content) - 1, 0))
    if damage == "flip":
        content = content[:at] + bytes(b ^ 0xFF for b in content[at : at + 50]) + content[at + 50 :]
    elif damage == "truncate":
        content = content[:at]
    elif damage == "random":
        content = data
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(content)
    for argv in (["eval", str(run)], ["train", str(config), "--run-dir", str(run), "--resume"]):
        code, err = run_cli(argv, capsys)
        if code == 2:
            assert str(run) in err or Path(name).name in err or "config" in err, err
