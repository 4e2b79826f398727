"""Shipped weights (`unrolled.pretrained`): the record round-trips, bad requests are refused by
name, and every weight file in the package still scores what its record says."""

from __future__ import annotations

import json

import pytest
import torch

import unrolled as ur
from unrolled import pretrained

pytest.importorskip("safetensors")

PROBLEM = {"name": "mri-reconstruction", "size": 16, "coils": 1, "validation_size": 2}
MODEL = {"layers": 2, "depth": 2, "width": 4, "cg_iterations": 2, "batch_norm": False}


def _entry(directory, name="tiny"):
    torch.manual_seed(0)
    net = ur.create("modl", operator=ur.create(**PROBLEM).operator, **MODEL)
    return pretrained.save(
        net,
        "modl",
        name,
        model_kwargs=MODEL,
        problem=PROBLEM,
        trained={"steps": 0, "seconds": 0.0, "device": "cpu"},
        results={},
        check={"metric": "psnr_db", "value": 0.0},
        directory=directory,
    ), net


def test_saved_weights_load_into_the_recorded_model(tmp_path):
    entry, net = _entry(tmp_path)
    assert entry.path.is_file() and entry.path.with_suffix(".json").is_file()
    assert [e.name for e in pretrained.available("modl", tmp_path)] == ["tiny"]
    loaded = pretrained.load("modl", "tiny", tmp_path)
    assert not loaded.training
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    problem = entry.build_problem()
    assert problem.size == 16 and problem.validation[0].shape[0] == 2


def test_create_with_weights_reads_the_package_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    _, net = _entry(tmp_path)
    loaded = ur.create("modl", weights="tiny")
    assert torch.equal(
        next(iter(loaded.state_dict().values())), next(iter(net.state_dict().values()))
    )


def test_bad_requests_are_refused_by_name(tmp_path):
    entry, _ = _entry(tmp_path)
    with pytest.raises(
        ValueError, match=r"weights: 'modl' has no shipped weights 'other'.*\['tiny'\]"
    ):
        pretrained.info("modl", "other", tmp_path)
    with pytest.raises(ValueError, match="no weights ship for it"):
        pretrained.info("varnet", "tiny", tmp_path)
    with pytest.raises(
        ValueError, match=r"width: the weights 'tiny' were trained with width=4, got 8"
    ):
        pretrained.load("modl", "tiny", tmp_path, width=8)
    with pytest.raises(ValueError, match="name: no registered"):
        ur.create("nonesuch", weights="tiny")
    data = entry.path.read_bytes()
    entry.path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one flipped byte
    with pytest.raises(ValueError, match="SHA-256"):
        pretrained.load("modl", "tiny", tmp_path)


SHIPPED = pretrained.available()


def test_weights_ship_with_the_package():
    assert SHIPPED, "no weights in src/unrolled/weights"
    record = json.loads(SHIPPED[0].path.with_suffix(".json").read_text())
    assert {"model_kwargs", "problem", "trained", "results", "check", "sha256"} <= set(record)


@pytest.mark.parametrize("entry", SHIPPED, ids=lambda e: f"{e.model}/{e.name}")
def test_shipped_weights_score_what_their_record_says(entry):
    """Re-measure the record's check (the problem's metric on its whole test set)."""
    if entry.problem.get("images") == "mni":
        pytest.importorskip("nibabel")
        if ur.data.mni_template_path() is None:
            pytest.skip("the nilearn wheel (MNI152 template) is absent")
    problem = entry.build_problem(validation_size=1)
    net = pretrained.load(entry.model, entry.name, operator=problem.operator)
    x, y, *A = problem.test
    with torch.no_grad():
        value = problem.metric(net(y, *A), x)
    assert problem.metric.key == entry.check["metric"]
    assert value == pytest.approx(entry.check["value"], abs=0.02)
    # It beats the best classical method of its task, by 0.5 in the metric's units (dB of PSNR,
    # points of NRMSE).
    assert entry.results["margin"] >= 0.5


def test_the_guide_example_loads_the_mri_weights_and_scores_the_record(capsys):
    from tests.test_readme import block, run

    pytest.importorskip("nibabel")
    if ur.data.mni_template_path() is None:
        pytest.skip("the nilearn wheel (MNI152 template) is absent")
    namespace = run(block("guide/imaging.md", 'weights="mri-8coil-4x"'), "docs/guide/imaging.md")
    printed = float(capsys.readouterr().out.split()[-1])
    assert printed == pytest.approx(namespace["entry"].check["value"], abs=0.02)
