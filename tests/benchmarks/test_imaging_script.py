"""The imaging zoo benchmark runs a task's classical methods and a model end to end (tiny test
set, a few training steps) and merges both, with margins, into its JSON and table."""

from __future__ import annotations

import json

import pytest
import torch

from tests.benchmarks._load import load

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def bench():
    return load("imaging")


def test_a_task_and_a_model_merge_with_margins(bench, tmp_path, monkeypatch, capsys):
    from unrolled.data import CompressiveImaging

    A = CompressiveImaging(66, 0.25, validation_size=1).blocks((1, 66, 66))
    x = torch.rand(2, 1, 66, 66, generator=torch.Generator().manual_seed(0))
    small = bench.TestSet(x, A(x), A, {"pseudo-inverse": lambda y, A: A.H(y)})
    task = bench.TASKS["cs25"]
    monkeypatch.setitem(
        bench.TASKS,
        "cs25",
        bench.Task(
            task.problem,
            {**task.problem_kwargs, "validation_size": 2},  # what it measures is the merge
            task.models,
            lambda: {"tiny": small},
        ),
    )
    out = tmp_path / "imaging.json"
    bench.main(["--task", "cs25", "--out", str(out)])
    bench.main(["--task", "cs25", "--model", "ista-net", "--steps", "2", "--out", str(out)])
    data = json.loads(out.read_text())
    model = data["cs25"]["models"]["ista-net"]
    assert model["parameters"] > 0 and model["train_steps"] == 2
    tiny = model["sets"]["tiny"]
    assert tiny["margin_db"] == round(
        tiny["psnr"] - data["cs25"]["classical"]["tiny"]["pseudo-inverse"]["psnr"], 2
    )
    with pytest.raises(SystemExit):
        bench.main(["--task", "cs25", "--model", "modl", "--out", str(out)])
    bench.main(["--table", "--out", str(out)])
    table = capsys.readouterr().out
    assert "**tiny**" in table and "| **ista-net**" in table


def test_mri_test_sets_are_the_classical_benchmarks(bench):
    ts = bench._mri_set(4, 1)
    zero_filled = bench.score(lambda: ts.methods["zero-filled"](ts.y, ts.A), ts.x)["psnr"]
    there = json.loads(bench.classical.RESULTS.read_text())["mri"]["single-coil 4x"]
    assert abs(zero_filled - there["zero-filled"]["psnr"]) < 0.01


def test_every_mri_task_has_an_mni_twin_trained_on_whole_slices(bench):
    for task in bench.MRI_TASKS:
        twin = bench.TASKS[f"{task}-mni"]
        assert twin.problem_kwargs == {**bench.TASKS[task].problem_kwargs, "images": "mni"}
        assert bench.patch_of(twin, 64) == bench.classical.MNI_SIZE
        assert bench.patch_of(bench.TASKS[task], 64) == 64
