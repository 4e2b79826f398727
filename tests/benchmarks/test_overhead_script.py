"""The overhead benchmark runs end to end (tiny sizes, no timing asserted: benchmarks measure)."""

import json

import torch

from tests.benchmarks._load import load as load_script


def load():
    return load_script("overhead")


def test_hand_written_loops_are_the_same_maths():
    bench = load()
    import unrolled as ur
    from unrolled.algorithms import ISTA

    M, _x, y = bench.problem(12, 24, 5)
    A = ur.Matrix(M)
    ours = ur.unroll(ISTA, 4, learn=["step", "threshold"], operator=A)
    for products, soft in bench.PLAIN.values():
        plain = bench.PlainISTA(M, 4, 1 / A.lipschitz(), 0.1, products=products, soft=soft)
        torch.testing.assert_close(ours(y), plain(y))


def test_without_deepinverse_the_peer_is_skipped_with_a_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_deepinv(name, *args, **kwargs):
        if name == "deepinv":
            raise ImportError("No module named 'deepinv'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_deepinv)
    M, _x, _y = load().problem(12, 24, 5)
    assert load().deepinv_pgd(M, 3, 0.1, 0.1) is None


def test_script_writes_its_json(tmp_path):
    out = tmp_path / "overhead.json"
    load().main(
        [
            "--m",
            "12",
            "--n",
            "24",
            "--batch",
            "4",
            "--layers",
            "3",
            "--reps",
            "3",
            "--no-compile",
            "--out",
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert result["train_step_eager"]["ratio_to_plain_natural"] > 0
    assert result["train_step_eager"]["fastest_hand_written"] in load().PLAIN
    assert result["inference_eager"]["ours_gflops"] > 0
    assert "machine" in result and "meets_targets" in result
