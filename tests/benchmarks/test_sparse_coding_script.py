"""The sparse-coding benchmark script runs and merges its parts (tiny, no timing asserted)."""

import json

from tests.benchmarks._load import load as load_script


def load():
    return load_script("sparse_coding")


def test_classical_part_reproduces_amp_and_merges(tmp_path):
    out = tmp_path / "sc.json"
    out.write_text(json.dumps({"other": {"kept": True}}))
    args = ["--part", "classical", "--amp-iterations", "30", "--fista-iterations", "5"]
    load().main([*args, "--ista-iterations", "5", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["other"] == {"kept": True}
    classical = data["classical"]
    assert classical["iterations_to_minus_35_db"]["amp"] <= 30  # published: 25
    assert len(classical["nmse_db_per_iteration"]["ista"]) == 5


def test_learned_part_merges_under_model_noise_and_budget(tmp_path):
    out = tmp_path / "sc.json"
    args = ["--part", "learned", "--model", "steplista", "--seconds", "1", "--layers", "2"]
    load().main([*args, "--run-root", str(tmp_path / "runs"), "--out", str(out)])
    entry = json.loads(out.read_text())["learned"]["steplista"]["noiseless"]["1s"]
    assert len(entry["nmse_db_per_layer"]) == 2
    assert entry["training_samples_seen"] > 0
    assert len(entry["classical_nmse_db_per_iteration"]["fista"]) == 2


def test_data_efficiency_part_trains_each_model_on_each_size(tmp_path, capsys):
    out = tmp_path / "sc.json"
    args = ["--part", "data-efficiency", "--seconds", "1", "--layers", "2", "--sizes", "100"]
    load().main([*args, "--run-root", str(tmp_path / "runs"), "--out", str(out)])
    runs = json.loads(out.read_text())["data_efficiency"]["runs"]
    assert set(runs) == {"alista", "lista", "mlp"}
    assert runs["mlp"]["100"]["parameters"] >= runs["lista"]["100"]["parameters"]
    assert all(r["100"]["optimizer_steps"] > 0 for r in runs.values())
    load().main(["--table", "--plot", str(tmp_path / "sc.png"), "--out", str(out)])
    assert (tmp_path / "sc.png").stat().st_size > 0
    assert "| mlp |" in capsys.readouterr().out


def test_lamp_vamp_part_compares_per_layer_with_matched_vamp(tmp_path):
    out = tmp_path / "sc.json"
    args = ["--part", "lamp-vamp", "--seconds", "1", "--lamp-layers", "2"]
    load().main([*args, "--run-root", str(tmp_path / "runs"), "--out", str(out)])
    entry = json.loads(out.read_text())["lamp_vs_vamp"]
    assert entry["matched_vamp_published_db"] == [-6.75, -12.57]
    assert len(entry["nmse_db_per_depth"]) == len(entry["gap_to_vamp_db"]) == 2
    assert len(entry["final_network_nmse_db_per_layer"]) == 2
    assert entry["training"]["loss"] == "nmse"
    assert entry["bayes_amp_nmse_db_per_iteration"][1] < entry["bayes_amp_nmse_db_per_iteration"][0]


def test_learned_long_spends_the_budget_with_a_cosine_rate(tmp_path):
    out = tmp_path / "sc.json"
    args = ["--part", "learned", "--model", "alista", "--seconds", "2", "--layers", "2", "--long"]
    load().main([*args, "--run-root", str(tmp_path / "runs"), "--out", str(out)])
    entry = json.loads(out.read_text())["learned"]["alista"]["noiseless"]["2s"]
    assert entry["training"]["patience"] is None
    assert entry["training"]["lr_schedule"] == "cosine"


def test_grid_part_trains_with_the_recipe_alone_and_merges_cell_by_cell(tmp_path, capsys):
    out = tmp_path / "sc.json"
    args = ["--part", "grid", "--models", "alista", "steplista", "--sizes-grid", "20x40"]
    args += ["--seconds", "1", "--layers", "2", "--run-root", str(tmp_path / "runs")]
    load().main([*args, "--out", str(out)])
    grid = json.loads(out.read_text())["grid"]
    assert set(grid) == {"alista", "steplista"}
    cells = grid["alista"]["20x40"]
    assert set(cells) == {"0.05", "0.1", "0.15"} and set(cells["0.1"]) == {"noiseless", "snr30"}
    cell = cells["0.1"]["noiseless"]
    import unrolled as ur

    assert cell["recipe"] == ur.recipe_of("alista").summary()
    assert cell["settings"]["schedule"] == "layerwise" and cell["deepest_layer_trained"] == 2
    assert cell["support"] == [0.012, 0.13] and cells["0.05"]["noiseless"]["support"] == [
        0.006,
        0.065,
    ]
    assert cell["target_db"] == -55.0 and isinstance(cell["meets_target"], bool)
    assert grid["steplista"]["20x40"]["0.1"]["noiseless"]["target_db"] is None
    before = out.read_text()
    load().main([*args, "--out", str(out), "--skip-done"])  # nothing left to measure
    assert json.loads(out.read_text())["grid"] == json.loads(before)["grid"]
    load().main(["--table", "--out", str(out)])
    table = capsys.readouterr().out
    assert "| alista | 0.1 | noiseless |" in table and "worst cell" in table
