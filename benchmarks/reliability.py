"""Adversarial probes of the command line and the API (issue 22): each probe feeds one bad
input, and its outcome is classified as

- ``clear``: an error that names the key, argument or file (the CLI: one line, exit code 2);
- ``unnamed``: an error that does not name it;
- ``traceback``: an exception escaping the CLI, or, from the API, one of a type no caller
  expects (a ``RuntimeError`` from inside torch, a ``KeyError``, ``ZeroDivisionError``, ...);
- ``silent``: success where the input should have been refused, or a changed result without a
  word (a damaged run read as if intact);
- ``hang``: no answer within ``TIMEOUT`` seconds;
- ``ok``: a damaged file that the command did not need, or one it recovered from with a
  warning (the previous checkpoint).

    python benchmarks/reliability.py            # all categories -> results/reliability.json
    python benchmarks/reliability.py --quick    # a few probes per category (the tests)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import unrolled as ur
from common import merge_results
from unrolled.algorithms import ISTA
from unrolled.cli import main as unrolled_main
from unrolled.data import MRIReconstruction, SparseCoding
from unrolled.train import fit, load_weights

RESULTS = Path(__file__).parent / "results" / "reliability.json"
TIMEOUT = 60
OUTCOMES = ("clear", "unnamed", "traceback", "silent", "hang", "ok")
#: Exceptions a caller of the API expects, with a message naming the argument.
EXPECTED = (ValueError, TypeError, FileNotFoundError, FloatingPointError, NotADirectoryError)

TINY = {
    "model": {"name": "lista-cp", "layers": 2},
    "problem": {"name": "sparse-coding", "m": 10, "n": 20, "validation_size": 8, "test_size": 8},
    "train": {"max_steps": 4, "eval_every": 2, "checkpoint_every": 2, "progress": False},
}


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int = TIMEOUT):
    def stop(*_):
        raise Hang

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(argv: list[str], cwd: Path) -> tuple[int | str, str, str]:
    """Run ``unrolled ARGV`` in-process in ``cwd``: (exit code or "traceback"/"hang", out, err)."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit():
            code: int | str = unrolled_main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code if isinstance(e.code, int) else 2
    except Hang:
        code = "hang"
    except BaseException as e:  # escaped the CLI: a user would see a traceback
        code, err = "traceback", io.StringIO(f"{type(e).__name__}: {e}")
    finally:
        os.chdir(here)
    return code, out.getvalue(), err.getvalue()


def classify_error(code: int | str, err: str, names: tuple[str, ...]) -> str:
    if code in ("traceback", "hang"):
        return str(code)
    if code == 0:
        return "silent"
    one_line = sum(" error: " in line for line in err.splitlines()) == 1
    named = any(name in err for name in names)
    return "clear" if code == 2 and one_line and named else "unnamed"


# -- bad configs -------------------------------------------------------------------------------

BAD_VALUES = {
    ("model", "layers"): [0, -1, "three", 3.5, None, [], 10**9, True],
    ("model", "name"): ["nope", 3, None],
    ("model", "bogus"): [1],
    ("problem", "m"): [0, -3, "x", 12.5, None, 10**12],
    ("problem", "n"): [0, "x", 10**12],
    ("problem", "validation_size"): [0, -1, 10**12],
    ("problem", "test_size"): [0, "x"],
    ("problem", "bogus"): [1],
    ("train", "lr"): [0, -1, "fast", float("nan"), float("inf"), True, []],
    ("train", "batch_size"): [0, 10**12, 2.5, "x"],
    ("train", "schedule"): ["sometimes", 3],
    ("train", "max_steps"): [0, -1, "x"],
    ("train", "max_seconds"): [0, -1, float("nan")],
    ("train", "eval_every"): [0],
    ("train", "checkpoint_every"): [0],
    ("train", "patience"): [-1],
    ("train", "clip"): [0, -1],
    ("train", "loss"): ["l7"],
    ("train", "lr_schedule"): ["wavy"],
    ("train", "refine"): [[-1], "x"],
    ("train", "decay"): [2],
    ("train", "device"): ["gpu", 3, "cuda:9"],
    ("train", "precision"): ["fp8"],
    ("train", "compile"): ["yes"],
    ("train", "validation_size"): [10**6],
    ("train", "layer_weights"): [[1]],
    ("train", "progress"): ["x"],
    ("train", "check_finite"): ["x"],
    ("train", "min_delta"): [-1],
    ("train", "lr_factors"): [{"nope": 1.0}, "x"],
    ("train", "restore_best"): ["x"],
    ("train", "warm_start"): ["x"],
    ("train", "bogus"): [1],
}

STRUCTURAL = {
    "unknown section": ("modle: {name: lista}\n", ("modle",)),
    "a list at the top": ("- model\n", ("config",)),
    "invalid YAML": ("model: {name: [\n", ("config", "YAML")),
    "empty file": ("", ("config",)),
    "binary file": (b"\xff\xfe\x00\x01garbage", ("config",)),
    "duplicate key": (
        "model: {name: lista-cp, layers: 2}\nmodel: {name: lista}\nproblem: {name: sparse-coding}\n",
        ("model",),
    ),
    "alias bomb": (
        "model:\n  name: lista-cp\n  layers: &a [&b [&c [&d [&e [1,1,1,1,1,1,1,1,1,1]]]]]\n"
        "  x: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nproblem: {name: sparse-coding}\n",
        ("model",),
    ),
    "run_dir empty": (yaml.safe_dump({**TINY, "run_dir": ""}), ("run_dir",)),
    "run_dir a number": (yaml.safe_dump({**TINY, "run_dir": 3}), ("run_dir",)),
    "model a list": ("model: [lista]\nproblem: {name: sparse-coding}\n", ("model",)),
    "no model name": ("model: {layers: 2}\nproblem: {name: sparse-coding}\n", ("model.name",)),
}


def config_probes(quick: bool) -> list[dict]:
    probes = []
    items = [(k, v) for k, values in BAD_VALUES.items() for v in values]
    if quick:
        items = items[::12]
    for (section, key), value in items:
        config = {s: dict(v) for s, v in TINY.items()}
        config[section][key] = value
        probes.append(
            {
                "name": f"{section}.{key}: {value!r}",
                "text": yaml.safe_dump(config),
                "names": (f"{section}.{key}", key),
            }
        )
    structural = list(STRUCTURAL.items())[:: 4 if quick else 1]
    for name, (text, names) in structural:
        probes.append({"name": name, "text": text, "names": names})
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, probe in enumerate(probes):
            path = root / f"c{i}.yaml"
            text = probe["text"]
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
            code, _, err = cli(["train", str(path), "--run-dir", str(root / f"r{i}")], root)
            results.append((probe["name"], classify_error(code, err, probe["names"]), err))
        afile = root / "afile"
        afile.write_text("")
        tiny = root / "tiny.yaml"
        tiny.write_text(yaml.safe_dump(TINY))
        for name, argv, names in [
            ("config path missing", ["train", str(root / "none.yaml")], ("none.yaml",)),
            ("config path a directory", ["train", str(root)], (str(root),)),
            ("--run-dir a file", ["train", str(tiny), "--run-dir", str(afile)], ("afile",)),
            ("--max-steps 0", ["train", str(tiny), "--max-steps", "0"], ("--max-steps",)),
            ("--device gpu", ["train", str(tiny), "--device", "gpu"], ("--device",)),
        ][: 2 if quick else None]:
            code, _, err = cli(argv, root)
            results.append((name, classify_error(code, err, names), err))
    return [{"probe": n, "outcome": o, "message": m.strip()[:300]} for n, o, m in results]


def call_probes(cases: list[tuple[str, Callable[[], object], tuple[str, ...]]]) -> list[dict]:
    """Run each ``(name, call, names)``: a call must raise an expected exception whose message
    names one of ``names``."""
    results = []
    for name, call, names in cases:
        try:
            with time_limit():
                call()
            outcome, message = "silent", ""
        except Hang:
            outcome, message = "hang", ""
        except EXPECTED as e:
            message = str(e)
            outcome = "clear" if any(n in message for n in names) else "unnamed"
        except Exception as e:
            outcome, message = "traceback", f"{type(e).__name__}: {e}"
        results.append({"probe": name, "outcome": outcome, "message": message[:300]})
    return results


# -- the Python API ----------------------------------------------------------------------------


def api_probes(quick: bool) -> list[dict]:
    problem = SparseCoding(m=20, n=40, validation_size=16, test_size=16)
    A = problem.operator

    def net(**kw):
        return ur.unroll(ISTA, 3, learn=["step", "threshold"], operator=A, **kw)

    def nan_y():
        y = torch.randn(4, 20)
        y[1, 2] = torch.nan
        return net()(y)

    def nan_matrix():
        M = torch.randn(20, 40)
        M[0, 0] = torch.nan
        return ur.unroll(ISTA, 3, learn=["step"], operator=ur.Matrix(M))

    cases: list[tuple[str, Callable[[], object], tuple[str, ...]]] = [
        ("unroll layers 0", lambda: ur.unroll(ISTA, 0), ("layers",)),
        ("unroll layers 10**9", lambda: ur.unroll(ISTA, 10**9), ("layers",)),
        ("unroll a string", lambda: ur.unroll("ista", 3), ("algorithm",)),
        ("unroll learn unknown", lambda: ur.unroll(ISTA, 3, learn=["nope"]), ("learn",)),
        ("unroll tied unknown", lambda: ur.unroll(ISTA, 3, tied=["nope"]), ("tied",)),
        ("unroll backprop", lambda: ur.unroll(ISTA, 3, backprop="x"), ("backprop",)),
        ("unroll operator 3", lambda: ur.unroll(ISTA, 3, operator=3), ("operator",)),
        ("net y NaN", nan_y, ("y",)),
        ("net y wrong shape", lambda: net()(torch.randn(4, 19)), ("y",)),
        ("net depth 0", lambda: net()(torch.randn(4, 20), depth=0), ("depth",)),
        ("net y a list", lambda: net()([1.0, 2.0]), ("y",)),
        ("Matrix NaN", nan_matrix, ("A",)),
        (
            "Matrix zero",
            lambda: ur.unroll(ISTA, 3, learn=["step"], operator=ur.Matrix(torch.zeros(3, 4))),
            ("A",),
        ),
        ("Matrix 3", lambda: ur.Matrix(3), ("M",)),
        ("Matrix 1-D", lambda: ur.Matrix(torch.ones(3)), ("M",)),
        ("fit lr -1", lambda: fit(net(), problem, lr=-1, max_steps=2), ("lr",)),
        ("fit batch 0", lambda: fit(net(), problem, batch_size=0, max_steps=2), ("batch_size",)),
        (
            "fit batch 10**12",
            lambda: fit(net(), problem, batch_size=10**12, max_steps=2),
            ("batch_size",),
        ),
        ("fit schedule", lambda: fit(net(), problem, "sometimes", max_steps=2), ("schedule",)),
        ("fit max_steps 0", lambda: fit(net(), problem, max_steps=0), ("max_steps",)),
        ("fit run_dir 3", lambda: fit(net(), problem, max_steps=2, run_dir=3), ("run_dir",)),
        (
            "fit resume missing",
            lambda: fit(net(), problem, max_steps=2, resume="/no/such/run"),
            ("resume",),
        ),
        ("fit callback 3", lambda: fit(net(), problem, max_steps=2, callback=3), ("callback",)),
        ("fit device gpu", lambda: fit(net(), problem, max_steps=2, device="gpu"), ("device",)),
        (
            "fit precision",
            lambda: fit(net(), problem, max_steps=2, precision="fp8"),
            ("precision",),
        ),
        ("fit model 3", lambda: fit(3, problem, max_steps=2), ("model",)),
        ("fit problem 3", lambda: fit(net(), 3, max_steps=2), ("problem",)),
        (
            "fit other problem",
            lambda: fit(net(), SparseCoding(m=30, n=60), max_steps=2),
            ("model",),
        ),
        (
            "fit check_finite",
            lambda: fit(net(), problem, max_steps=2, check_finite="x"),
            ("check_finite",),
        ),
        ("fit unknown setting", lambda: fit(net(), problem, max_steps=2, lrr=1), ("lrr",)),
        ("create unknown", lambda: ur.create("nope"), ("nope",)),
        ("create weights unknown", lambda: ur.create("modl", weights="nope"), ("weights",)),
        ("load_weights missing", lambda: load_weights(net(), "/no/such/run"), ("run_dir",)),
        ("load_weights model 3", lambda: load_weights(3, "."), ("model",)),
        ("SparseCoding m 0", lambda: SparseCoding(m=0, n=40), ("m",)),
        ("SparseCoding m 10**12", lambda: SparseCoding(m=10**12, n=40), ("m",)),
        ("MRI size 4", lambda: MRIReconstruction(size=4), ("size",)),
        ("MRI size 10**6", lambda: MRIReconstruction(size=10**6), ("size",)),
        (
            "MRI acceleration 0",
            lambda: MRIReconstruction(size=32, acceleration=0),
            ("acceleration",),
        ),
        ("psnr shapes", lambda: ur.metrics.psnr(torch.ones(2, 8, 8), torch.ones(2, 9, 9)), ("x",)),
        ("nmse shapes", lambda: ur.metrics.nmse_db(torch.ones(2, 8), torch.ones(3, 8)), ("x",)),
    ]
    if quick:
        cases = cases[::8]
    return call_probes(cases)


# -- NaN in training ---------------------------------------------------------------------------


class _Poisoned:
    def __init__(self, where: str, value: float):
        self.base = SparseCoding(m=20, n=40, validation_size=16, test_size=16)
        self.operator, self.metric = self.base.operator, self.base.metric
        self.where, self.value = where, value

    @property
    def validation(self):
        x, y = self.base.validation
        x, y = x.clone(), y.clone()
        if self.where == "validation y":
            y[3, 0] = self.value
        if self.where == "validation x":
            x[3, 0] = self.value
        return x, y

    def sample(self, batch):
        x, y = self.base.sample(batch)
        if self.where == "batch y":
            y = y.clone()
            y[0, 0] = self.value
        if self.where == "batch x":
            x = x.clone()
            x[0, 0] = self.value
        return x, y


def nan_probes(quick: bool) -> list[dict]:
    def trained_with(problem, poison_step=None, param=None, **kw):
        net = ur.unroll(ISTA, 3, learn=["step", "threshold"], operator=problem.operator)

        def poison(info):
            if info["step"] == poison_step:
                with torch.no_grad():
                    net.params[param][1] = torch.nan

        return fit(net, problem, "end-to-end", max_steps=20, eval_every=5, callback=poison, **kw)

    base = SparseCoding(m=20, n=40, validation_size=16, test_size=16)
    cases = [
        (
            "NaN in validation y",
            lambda: trained_with(_Poisoned("validation y", torch.nan)),
            ("y", "validation"),
        ),
        (
            "Inf in validation y",
            lambda: trained_with(_Poisoned("validation y", torch.inf)),
            ("y", "validation"),
        ),
        (
            "Inf in validation x",
            lambda: trained_with(_Poisoned("validation x", torch.inf)),
            ("x", "validation"),
        ),
        (
            "NaN in the first batch y",
            lambda: trained_with(_Poisoned("batch y", torch.nan)),
            ("y", "batch"),
        ),
        (
            "Inf in the first batch x",
            lambda: trained_with(_Poisoned("batch x", torch.inf)),
            ("x", "batch"),
        ),
        (
            "NaN validation y, checks off",
            lambda: trained_with(_Poisoned("validation y", torch.nan), check_finite=False),
            ("validation",),
        ),
        ("NaN step mid-run", lambda: trained_with(base, 7, "step"), ("step 8",)),
        ("NaN threshold mid-run", lambda: trained_with(base, 12, "threshold"), ("step 13",)),
        (
            "NaN threshold, clipped",
            lambda: trained_with(base, 3, "threshold", clip=1.0),
            ("step 4",),
        ),
        ("NaN step at the last step", lambda: trained_with(base, 19, "step"), ("step 20",)),
    ]
    if quick:
        cases = cases[::5]
    return call_probes(cases)


# -- damaged run directories and odd ones --------------------------------------------------------

FILES = (
    "weights.safetensors",
    "state.safetensors",
    "checkpoint.json",
    "metrics.jsonl",
    "config.json",
    "config.yaml",
    "weights.prev.safetensors",
    "state.prev.safetensors",
)
DAMAGE = ("flip", "truncate", "empty", "pickle", "delete")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flip":
        at = len(data) // 2
        data = data[:at] + bytes(b ^ 0xFF for b in data[at : at + 50]) + data[at + 50 :]
    elif how == "truncate":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = b""
    elif how == "pickle":
        data = pickle.dumps({"step": 1})
    if how == "delete":
        path.unlink()
    else:
        path.write_bytes(data)


def run_probes(quick: bool) -> tuple[list[dict], list[dict]]:
    damaged, odd = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "tiny.yaml"
        config.write_text(yaml.safe_dump(TINY))
        intact = root / "intact"
        assert cli(["train", str(config), "--run-dir", str(intact)], root)[0] == 0
        reference = cli(["eval", str(intact)], root)[1]
        weights = (intact / "weights.safetensors").read_bytes()
        pairs = [(f, d) for f in FILES for d in DAMAGE]
        for i, (name, how) in enumerate(pairs[:: 7 if quick else 1]):
            outcomes, messages = [], []
            for command in ("eval", "resume"):
                run = root / f"d{i}{command}"
                shutil.copytree(intact, run)
                _damage(run / name, how)
                argv = (
                    ["eval", str(run)]
                    if command == "eval"
                    else ["train", str(config), "--run-dir", str(run), "--resume"]
                )
                code, out, err = cli(argv, root)
                if code == 0:
                    if command == "eval":
                        same = out == reference
                    else:
                        final = run / "weights.safetensors"
                        same = final.is_file() and final.read_bytes() == weights
                    outcome = "ok" if same or "warning" in err else "silent"
                else:
                    outcome = classify_error(code, err, (name, str(run)))
                outcomes.append(outcome)
                messages.append(err.strip()[:300])
            worst = max(
                outcomes,
                key=lambda o: ("ok", "clear", "unnamed", "silent", "traceback", "hang").index(o),
            )
            damaged.append(
                {
                    "probe": f"{name}: {how}",
                    "outcome": worst,
                    "eval, resume": outcomes,
                    "messages": messages,
                }
            )
        other = root / "other"
        other_config = root / "other.yaml"
        other_config.write_text(
            yaml.safe_dump({**TINY, "model": {"name": "lista-cp", "layers": 3}})
        )
        assert cli(["train", str(other_config), "--run-dir", str(other)], root)[0] == 0
        afile = root / "afile"
        afile.write_text("x")
        empty = root / "empty"
        empty.mkdir()

        def mixed(kind: str) -> Path:
            run = root / f"mixed-{kind}"
            shutil.copytree(intact, run)
            if kind == "weights":
                for name in ("weights.safetensors", "weights.prev.safetensors", "checkpoint.json"):
                    shutil.copy(other / name, run / name)
            elif kind == "config":
                shutil.copy(other / "config.yaml", run / "config.yaml")
            elif kind == "only config":
                for p in run.iterdir():
                    if p.name != "config.yaml":
                        p.unlink()
            elif kind == "only weights":
                (run / "config.yaml").unlink()
            elif kind == "garbage config":
                (run / "config.yaml").write_text("model: [\n")
            elif kind == "yaml tag":
                (run / "config.yaml").write_text(
                    "model: !!python/object/apply:os.system [echo hi]\n"
                )
            return run

        cases = [
            ("missing directory", ["eval", str(root / "none")], ("none",)),
            ("a file", ["eval", str(afile)], ("afile",)),
            ("an empty directory", ["eval", str(empty)], ("empty",)),
            ("another model's weights", ["eval", str(mixed("weights"))], ("weights.safetensors",)),
            ("another model's config", ["eval", str(mixed("config"))], ("weights.safetensors",)),
            ("only config.yaml", ["eval", str(mixed("only config"))], ("weights.safetensors",)),
            ("only weights", ["eval", str(mixed("only weights"))], ("config.yaml",)),
            ("garbage config.yaml", ["eval", str(mixed("garbage config"))], ("config.yaml",)),
            ("a YAML tag in config.yaml", ["eval", str(mixed("yaml tag"))], ("config.yaml",)),
            ("--test-size 0", ["eval", str(intact), "--test-size", "0"], ("--test-size",)),
            (
                "--test-size 10**12",
                ["eval", str(intact), "--test-size", str(10**12)],
                ("test_size",),
            ),
            ("--device cuda without one", ["eval", str(intact), "--device", "cuda"], ("--device",)),
            ("--device nonsense", ["eval", str(intact), "--device", "tpu"], ("--device",)),
            (
                "resume a missing run",
                ["train", str(config), "--run-dir", str(root / "none"), "--resume"],
                ("none",),
            ),
            (
                "resume another model's run",
                ["train", str(config), "--run-dir", str(other), "--resume"],
                ("model",),
            ),
        ]
        for name, argv, names in cases[:: 5 if quick else 1]:
            code, _, err = cli(argv, root)
            odd.append(
                {
                    "probe": name,
                    "outcome": classify_error(code, err, names),
                    "message": err.strip()[:300],
                }
            )
        if not quick:  # a closed pipe, in a real process
            piped = subprocess.run(
                f"{sys.executable} -m unrolled eval {intact} | head -1",
                shell=True,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            outcome = "traceback" if "Traceback" in piped.stderr else "ok"
            odd.append(
                {"probe": "eval | head -1", "outcome": outcome, "message": piped.stderr[:300]}
            )
    return damaged, odd


def summary(results: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    table = {}
    for category, probes in results.items():
        counts = Counter(p["outcome"] for p in probes)
        table[category] = {"tried": len(probes), **{o: counts.get(o, 0) for o in OUTCOMES}}
    return table


def measure(quick: bool = False) -> dict:
    torch.set_num_threads(1)
    results = {
        "bad configs (unrolled train)": config_probes(quick),
        "Python API": api_probes(quick),
        "NaN in training": nan_probes(quick),
    }
    damaged, odd = run_probes(quick)
    results["damaged run files (eval and --resume)"] = damaged
    results["unrolled eval and --resume on odd directories"] = odd
    return {"summary": summary(results), "probes": results}


def print_table(data: dict) -> None:
    print("| category | " + " | ".join(["tried", *OUTCOMES]) + " |")
    print("| --- " * (len(OUTCOMES) + 2) + "|")
    for category, row in data["summary"].items():
        print(f"| {category} | " + " | ".join(str(row[k]) for k in ["tried", *OUTCOMES]) + " |")
    for category, probes in data["probes"].items():
        for p in probes:
            if p["outcome"] not in ("clear", "ok"):
                print(f"  {category} / {p['probe']}: {p['outcome']}: {p.get('message', '')}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few probes per category")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data = measure(args.quick)
    print_table(data)
    if not args.quick or args.out != RESULTS:
        merge_results(args.out, "reliability", data)
    return data


if __name__ == "__main__":
    main()
