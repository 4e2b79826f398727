"""The README's and the documentation's examples run as written, and the README's API table
names what exists.

The README keeps the custom iteration; the recipe, imaging, MIMO and recommendation examples
live in the documentation pages (docs/), found here by what they contain."""

import re
from pathlib import Path
from types import ModuleType

import torch

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def blocks(path: Path = README) -> list[str]:
    """The python examples of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def block(page: str, containing: str) -> str:
    """The one python example of ``docs/<page>`` that contains ``containing``."""
    found = [b for b in blocks(DOCS / page) if containing in b]
    assert len(found) == 1, f"docs/{page}: {len(found)} python examples contain {containing!r}"
    return found[0]


def run(code: str, name: str, namespace: dict | None = None) -> dict:
    namespace = {} if namespace is None else namespace
    exec(compile(code, name, "exec"), namespace)
    return namespace


def test_readme_example_runs():
    examples = blocks()
    assert examples, "README has no python example"
    torch.manual_seed(0)
    namespace = run(examples[0], "README.md")
    net, A, x, y, landweber = (namespace[k] for k in ("net", "A", "x", "y", "landweber"))
    classical = (landweber.run(y, A, iterations=10) - x).square().mean()
    assert (net(y, A) - x).square().mean() < 0.95 * classical  # training helped
    assert len(examples[0].strip().splitlines()) <= 16


def test_readme_is_short_and_its_links_exist():
    text = README.read_text()
    assert len(text.splitlines()) < 250
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local), "README links nowhere into the docs"
    for link in local:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


def test_recipe_example_runs():
    example = block("concepts.md", '"lista-cpss"')
    assert "max_seconds=150" in example
    namespace = run(example.replace("max_seconds=150", "max_seconds=2"), "docs/concepts.md")
    net = namespace["net"]
    assert net.algorithm.support == (0.006, 0.065)
    assert net(namespace["problem"].test[1]).shape == (1000, 500)


def test_getting_started_example_runs():
    example = block("getting-started.md", '"alista"')
    assert "max_seconds=60" in example
    torch.manual_seed(0)
    namespace = run(
        example.replace("max_seconds=60", "max_seconds=2").replace("print(", "result = ("),
        "docs/getting-started.md",
    )
    x, y = namespace["problem"].test
    assert namespace["result"].shape == ()
    assert namespace["net"](y).shape == x.shape


def test_concepts_fragments_run():
    """The params and slots fragments of the concepts page, with ``ur`` and an operator."""
    import unrolled as ur

    fragments = [b for b in blocks(DOCS / "concepts.md") if "import " not in b]
    assert len(fragments) == 2
    A = ur.ops.Blur(ur.ops.gaussian_kernel(5, 1.0), (1, 16, 16))
    namespace = run("\n".join(fragments), "docs/concepts.md", {"ur": ur, "A": A})
    assert namespace["damping"].between == (0.0, 2.0) and namespace["weights"].shape == "x"
    y = A(torch.rand(2, 1, 16, 16))
    assert namespace["net"](y).shape == y.shape


def test_imaging_example_runs():
    example = block("guide/imaging.md", "HQS(growth=1.2)")
    torch.manual_seed(0)
    namespace = run(example, "docs/guide/imaging.md")
    from unrolled.metrics import psnr

    x, y, x_tv, x_hat = (namespace[k] for k in ("x", "y", "x_tv", "x_hat"))
    assert psnr(x_tv, x) > psnr(y, x) + 1  # TV-ADMM beats the blurred input
    assert x_hat.shape == x.shape and x_hat.requires_grad


def test_mimo_example_runs():
    example = block("guide/mimo.md", '"oamp-net2"')
    torch.manual_seed(0)
    namespace = run(example, "docs/guide/mimo.md")
    assert namespace["ser"] < namespace["mmse"]  # OAMP-Net2 detects better than MMSE


def test_recommendation_example_runs():
    example = block("guide/recommendation.md", 'loss="mse"')
    torch.manual_seed(0)
    namespace = run(example, "docs/guide/recommendation.md")
    problem = namespace["problem"]
    t = problem.test_ratings
    mean = float(problem.train_ratings.values.mean())
    global_mean = float(((torch.from_numpy(t.values) - mean) ** 2).mean().sqrt())
    assert namespace["test_rmse"] < 0.9 * global_mean  # the factorisation predicts unseen ratings


def test_rating_ranking_example_runs():
    example = block("guide/recommendation.md", 'target="ranking"')
    torch.manual_seed(0)
    namespace = run(example, "docs/guide/recommendation.md")
    assert set(namespace["net"].param_values()) >= {"missing_weight", "missing_value"}
    assert 0 < namespace["recall"] <= 1


def test_implicit_ranking_example_runs():
    example = block("guide/recommendation.md", '"graph-filter-net"')
    namespace = run(example, "docs/guide/recommendation.md")
    assert 0 < namespace["recall"] <= 1
    gcn, (x, y) = namespace["gcn"], namespace["problem"].test
    assert 0 < namespace["problem"].metric(gcn(y), x) <= 1


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
