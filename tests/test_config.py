import pytest

from unrolled.config import ConfigError, check_kwargs, load_yaml
from unrolled.data import SparseCoding


def target(
    name: str, layers: int = 16, lr: float = 1e-3, snr_db: float | None = None, tied: bool = False
):
    return name


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (
            {"name": "x", "layrs": 3},
            r"model\.layrs: unknown key; expected one of \['layers', 'lr', 'name', 'snr_db', 'tied'\]",
        ),
        ({"name": "x", "layers": "16"}, r"model\.layers: expected int, got str '16'"),
        ({"name": "x", "layers": 2.5}, r"model\.layers: expected int, got float"),
        ({"name": "x", "tied": 1}, r"model\.tied: expected bool, got int"),
        ({"name": "x", "lr": "fast"}, r"model\.lr: expected float, got str"),
        ({"layers": 3}, r"model\.name: required key is missing"),
    ],
)
def test_bad_keys_are_named(values, match):
    with pytest.raises(ConfigError, match=match):
        check_kwargs(target, values, "model")


def test_good_values_pass():
    values = {"name": "x", "layers": 4, "lr": 1, "snr_db": None, "tied": True}
    assert check_kwargs(target, values, "model") == values
    assert check_kwargs(target, {"name": "x", "snr_db": 40}, "model")["snr_db"] == 40


def test_class_signatures_are_checked():
    with pytest.raises(ConfigError, match=r"problem\.sparsty: unknown key"):
        check_kwargs(SparseCoding, {"sparsty": 0.1}, "problem")
    assert check_kwargs(SparseCoding, {"m": 20, "snr_db": 40.0}, "problem") == {
        "m": 20,
        "snr_db": 40.0,
    }


def test_yaml_is_read_safely(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("model: {name: lista, layers: 4}\nproblem: {m: 20}\ntrain: {}\n")
    assert load_yaml(good)["model"]["layers"] == 4
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("model: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(unsafe)
    for text, match in [
        ("- a\n- b\n", "expected a mapping at the top"),
        ("modle: {}\n", r"config\.modle: unknown section"),
        ("model: 3\n", "model: expected a mapping, got int"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_yaml(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_yaml(tmp_path / "missing.yaml")
