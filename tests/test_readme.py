"""The README's example runs as written."""

import re
from pathlib import Path
from types import ModuleType

import torch

README = Path(__file__).parents[1] / "README.md"


def blocks():
    """The README's python examples, in order: the custom iteration, the recipe, imaging,
    MIMO, recommendation."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_example_runs():
    examples = blocks()
    assert examples, "README has no python example"
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(examples[0], "README.md", "exec"), namespace)
    net, A, x, y, landweber = (namespace[k] for k in ("net", "A", "x", "y", "landweber"))
    classical = (landweber.run(y, A, iterations=10) - x).square().mean()
    assert (net(y, A) - x).square().mean() < 0.95 * classical  # training helped
    assert len(examples[0].strip().splitlines()) <= 16


def test_readme_recipe_example_runs():
    example = blocks()[1]
    assert "max_seconds=150" in example
    namespace: dict = {}
    exec(
        compile(example.replace("max_seconds=150", "max_seconds=2"), "README.md", "exec"), namespace
    )
    net = namespace["net"]
    assert net.algorithm.support == (0.006, 0.065)
    assert net(namespace["problem"].test[1]).shape == (1000, 500)


def test_readme_imaging_example_runs():
    examples = blocks()
    assert len(examples) >= 3, "README has no imaging example"
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(examples[2], "README.md", "exec"), namespace)
    from unrolled.metrics import psnr

    x, y, x_tv, x_hat = (namespace[k] for k in ("x", "y", "x_tv", "x_hat"))
    assert psnr(x_tv, x) > psnr(y, x) + 1  # TV-ADMM beats the blurred input
    assert x_hat.shape == x.shape and x_hat.requires_grad


def test_readme_mimo_example_runs():
    examples = blocks()
    assert len(examples) >= 4, "README has no MIMO example"
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(examples[3], "README.md", "exec"), namespace)
    assert namespace["ser"] < namespace["mmse"]  # OAMP-Net2 detects better than MMSE


def test_readme_recommendation_example_runs():
    examples = blocks()
    assert len(examples) >= 5, "README has no recommendation example"
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(examples[4], "README.md", "exec"), namespace)
    t = namespace["problem"].test
    mean = float(namespace["problem"].train.values.mean())
    global_mean = float(((torch.from_numpy(t.values) - mean) ** 2).mean().sqrt())
    assert namespace["test_rmse"] < 0.9 * global_mean  # the factorisation predicts unseen ratings


def api_rows() -> list[tuple[str, str]]:
    """The README's "Public API" table: (names, description) per row."""
    text = README.read_text()
    table = text[text.index("## Public API") :].split("\n## ", 1)[0]
    rows = [line.split(" | ", 1) for line in table.splitlines() if line.startswith("| `")]
    return [(names.strip("| "), what.strip("| ")) for names, what in rows]


def resolve(path: str):
    import unrolled as ur

    head, *rest = path.split(".")
    assert head == "ur", path
    obj = ur
    for part in rest:
        obj = getattr(obj, part)
    return obj


def test_readme_api_table_names_resolve():
    """Every ``ur.…`` name of the API table (and, in a module's row, the names it lists) exists
    as written, from ``import unrolled as ur`` alone (submodules load on first use)."""
    import unrolled as ur

    rows = api_rows()
    assert len(rows) >= 10
    checked = 0
    for names, what in rows:
        module = None
        for code in re.findall(r"`([^`]+)`", names):
            if code.startswith("unrolled "):  # the command line's row: tested in test_cli
                continue
            if code.startswith("ur."):
                path = re.match(r"ur(\.\w+)+", code).group(0)
                obj = resolve(path)
                parent = resolve(path.rsplit(".", 1)[0])
                module = obj if isinstance(obj, ModuleType) else parent
            else:  # a bare name continues the row's module: `ur.data.load_image`, `ImagePatches`
                obj = getattr(module, re.match(r"\w+", code).group(0))
            checked += 1
        if module is not None and names.strip("`") == f"ur.{module.__name__.split('.')[-1]}":
            for code in re.findall(r"`([A-Za-z_][\w-]*)`", what):  # a module's row: its contents
                assert hasattr(module, code) or code in ur.list_models(), (names, code)
                checked += 1
    assert checked >= 80
