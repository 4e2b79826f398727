"""Sparse-coding benchmark: classical iterations against the published ones, and learned networks.

Parts (each merges its results into benchmarks/results/sparse_coding.json, so the benchmark
runs in pieces and in the background):

    python benchmarks/sparse_coding.py --part classical    # Borgerding et al. 2017, SNR 40 dB
    python benchmarks/sparse_coding.py --part learned --model alista --seconds 150 [--snr-db 40]
    python benchmarks/sparse_coding.py --part grid [--models alista] [--sizes 100x200] ...

``grid``: the defaults, held to account. Each cell builds ``unrolled.create(model,
operator=A, layers=16)`` on a problem of its own size, sparsity and noise (unit-norm columns,
seed ``--seed``) and trains it with ``fit(model, problem, max_seconds=150)`` and nothing else:
the model's recipe decides everything. Cells (`GRID`): ALISTA, LISTA-CPSS and LAMP at sparsity
0.05 and 0.1 noiseless and 0.1 at 30 dB; LISTA-CP, LISTA, StepLISTA and SBL-Net at 0.1
noiseless; ALISTA and LISTA-CPSS at 0.15 noiseless; each on 100×200, 300×500, 250×500 and
500×1000 (SBL-Net's posterior, an m×m Cholesky factor per sample and layer, makes its cells the
slowest by far: ``--models sbl-net --sizes-grid 100x200 250x500`` runs the affordable ones). Each
cell is merged into the JSON as it ends (``grid/<model>/<m>x<n>/<sparsity>/<noise>``), so the
grid runs in pieces and in the background; ``--skip-done`` leaves cells already measured.

``learned``: one model of the zoo, 16 layers, trained by `unrolled.train.fit` within
``--seconds`` on the standard 250×500 problem (unit-norm columns; noiseless, or ``--snr-db``),
with the model's recipe (``--long``: no early stop, a cosine rate); reported: test NMSE (dB, mean
over 1000 samples) per layer, ISTA and FISTA (l1 weight 1e-4) per iteration, wall time and
training samples seen. Stored under ``learned/<model>/<noiseless|snr40>/<seconds>s``.

``classical``: A 250×500 with i.i.d. N(0, 1/m) entries (columns not normalised), x
Bernoulli(0.1)-Gaussian, SNR 40 dB (noise variance p·n/m·10^(−SNR/10)), 1000 test samples, as in
Borgerding et al.'s ``onsager_deep_learning``. AMP runs with α = 1.1402; ISTA and FISTA solve the
lasso whose λ matches AMP's fixed point, λ = α σ̂ (1 − ‖x̂‖₀/m) (the published script), here the
mean over samples of that per-sample λ. NMSE in dB is of the mean linear NMSE, the published
definition. Published: iterations to reach −35 dB, AMP 25, FISTA 202, ISTA 3420; all settle near
−36.7 dB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from common import merge_results
from unrolled.algorithms import AMP, FISTA, ISTA
from unrolled.core import Layer
from unrolled.data import SparseCoding

RESULTS = Path(__file__).parent / "results" / "sparse_coding.json"
PUBLISHED_CLASSICAL = {
    "source": "Borgerding et al. 2017, onsager_deep_learning README (read)",
    "iterations_to_minus_35_db": {"amp": 25, "fista": 202, "ista": 3420},
    "settles_near_db": -36.7,
}


def nmse_db_of_mean(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """10·log10 of the mean over samples of ‖x̂ − x‖²/‖x‖² (Borgerding's ``ista_fista_amp.m``)."""
    ratio = (x_hat - x).square().sum(1) / x.square().sum(1).clamp_min(1e-30)
    return float(10 * torch.log10(ratio.mean()))


def nmse_db_of_sums(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """10·log10 of ‖X̂ − X‖²_F/‖X‖²_F over the whole set (Borgerding's training code)."""
    return float(10 * torch.log10((x_hat - x).square().sum() / x.square().sum()))


def curve(algorithm, y, A, x, iterations: int) -> list[float]:
    """NMSE (dB) after each of ``iterations`` classical iterations."""
    out = []
    with torch.no_grad():
        for t, x_hat in enumerate(algorithm.iterate(y, A)):
            out.append(nmse_db_of_mean(x_hat, x))
            if t + 1 == iterations:
                return out
    return out


def first_below(values: list[float], level: float) -> int | None:
    return next((t + 1 for t, v in enumerate(values) if v <= level), None)


def classical(args: argparse.Namespace) -> dict:
    problem = SparseCoding(
        250, 500, 0.1, snr_db=40.0, normalize_columns=False, seed=args.seed, dtype=torch.float64
    )
    x, y = problem.test
    A = problem.operator
    amp = AMP()
    t0 = time.perf_counter()
    amp_curve = curve(amp, y, A, x, args.amp_iterations)
    # λ matched to AMP's fixed point: run AMP's state once more to read its residual.
    with torch.no_grad():
        state, values = amp.init(y, A), amp.defaults(A)
        for t in range(args.amp_iterations):
            state = amp.update(state, y, A, Layer(values, t))
        m = y.shape[1]
        sigma = state.z.norm(dim=1) / m**0.5
        lam = float((1.1402 * sigma * (1 - (state.x != 0).sum(1) / m)).mean())
    fista_curve = curve(FISTA(threshold=lam), y, A, x, args.fista_iterations)
    ista_curve = curve(ISTA(threshold=lam), y, A, x, args.ista_iterations)
    seconds = time.perf_counter() - t0
    curves = {"amp": amp_curve, "fista": fista_curve, "ista": ista_curve}
    return {
        "problem": repr(problem) + ", columns not normalised, float64, 1000 test samples",
        "lambda_for_ista_fista": lam,
        "iterations_to_minus_35_db": {k: first_below(v, -35.0) for k, v in curves.items()},
        "settled_db": {k: v[-1] for k, v in curves.items()},
        "iterations_run": {k: len(v) for k, v in curves.items()},
        "nmse_db_per_iteration": {k: [round(v, 3) for v in c] for k, c in curves.items()},
        "published": PUBLISHED_CLASSICAL,
        "seconds": seconds,
    }


def learned(args: argparse.Namespace) -> dict:
    import unrolled as ur
    from unrolled.analysis import CLASSICAL_LAMBDA
    from unrolled.metrics import nmse_db
    from unrolled.train import fit, read_config, read_metrics

    settings = {}  # the model's recipe decides; --long spends the whole budget
    if args.long:  # no early stop, the rate annealed to 0 by the end of each stage
        settings.update(patience=None, lr_schedule="cosine")
    problem = SparseCoding(
        250, 500, 0.1, snr_db=args.snr_db, seed=args.seed, validation_size=500, test_size=1000
    )
    net = ur.create(args.model, operator=problem.operator, layers=args.layers)
    run_dir = (
        Path(args.run_root)
        / f"{args.model}-{'noiseless' if args.snr_db is None else f'snr{args.snr_db:g}'}"
    )
    shutil.rmtree(run_dir, ignore_errors=True)  # a benchmark run starts from scratch
    t0 = time.perf_counter()
    fit(net, problem, max_seconds=args.seconds, run_dir=run_dir, progress=False, **settings)
    seconds = time.perf_counter() - t0
    steps = read_metrics(run_dir)[-1]["step"]
    used = read_config(run_dir)["fit"]
    x, y = problem.test
    with torch.no_grad():
        _, trace = net(y, trace=True)
        classical = {
            name: [
                float(nmse_db(s, x))
                for s in alg.run(y, problem.operator, iterations=args.layers, trace=True)[1]
            ]
            for name, alg in (
                ("ista", ISTA(threshold=CLASSICAL_LAMBDA)),
                ("fista", FISTA(threshold=CLASSICAL_LAMBDA)),
            )
        }
    return {
        "model": args.model,
        "layers": args.layers,
        "problem": repr(problem),
        "training": {**used, "max_seconds": args.seconds},
        "recipe": net.recipe.summary(),
        "nmse_db_per_layer": [round(float(nmse_db(t, x)), 3) for t in trace],
        "classical_nmse_db_per_iteration": {
            k: [round(v, 3) for v in c] for k, c in classical.items()
        },
        "wall_seconds": seconds,
        "optimizer_steps": steps,
        "training_samples_seen": steps * used["batch_size"],
    }


#: Problem sizes of the grid, (m, n).
GRID_SIZES = ((100, 200), (300, 500), (250, 500), (500, 1000))
#: (models, sparsity, snr_db) of the grid: every model is measured at every size.
GRID_SETTINGS = (
    (("alista", "lista-cpss", "lamp"), 0.05, None),
    (("alista", "lista-cpss", "lamp"), 0.1, None),
    (("alista", "lista-cpss", "lamp"), 0.1, 30.0),
    (("lista-cp", "lista", "steplista", "sbl-net"), 0.1, None),
    (("alista", "lista-cpss"), 0.15, None),
)
#: The issue's targets at 16 layers, 150 s (dB): noiseless cells up to 300×500 with sparsity
#: ≤ 0.1; ALISTA at 500×1000; at 30 dB SNR, ALISTA and LISTA-CPSS at the noise level.
GRID_TARGETS = {
    "small_noiseless": {"alista": -55.0, "lista-cpss": -45.0, "lista-cp": -35.0},
    "large_noiseless": {"alista": -45.0},
    "snr30": {"alista": -28.0, "lista-cpss": -28.0},
}


def grid_cells(args: argparse.Namespace) -> list[tuple[str, int, int, float, float | None]]:
    """The grid's cells (model, m, n, sparsity, snr_db), filtered by ``--models`` and ``--sizes``."""
    sizes = (
        [tuple(int(v) for v in s.split("x")) for s in args.sizes_grid]
        if args.sizes_grid
        else GRID_SIZES
    )
    cells = []
    for models, sparsity, snr in GRID_SETTINGS:
        for m, n in sizes:
            for model in models:
                if args.models and model not in args.models:
                    continue
                cells.append((model, m, n, sparsity, snr))
    return cells


def grid_key(model: str, m: int, n: int, sparsity: float, snr: float | None) -> tuple[str, ...]:
    return (
        "grid",
        model,
        f"{m}x{n}",
        f"{sparsity:g}",
        "noiseless" if snr is None else f"snr{snr:g}",
    )


def grid_target(model: str, m: int, n: int, sparsity: float, snr: float | None) -> float | None:
    """The issue's target for a cell, or ``None`` where it sets none (the cell is reported)."""
    if snr is not None:
        return GRID_TARGETS["snr30"].get(model) if snr == 30 else None
    if sparsity > 0.1:
        return None
    if m * n <= 300 * 500:
        return GRID_TARGETS["small_noiseless"].get(model)
    return GRID_TARGETS["large_noiseless"].get(model)


def grid_cell(model: str, m: int, n: int, sparsity: float, snr: float | None, args) -> dict:
    """One cell: ``fit(model, problem, max_seconds=...)`` with nothing else, then the test NMSE
    per layer and FISTA's after as many iterations."""
    import unrolled as ur
    from unrolled.analysis import CLASSICAL_LAMBDA
    from unrolled.metrics import nmse_db
    from unrolled.train import fit, read_metrics

    problem = SparseCoding(m, n, sparsity, snr_db=snr, seed=args.seed, test_size=1000)
    torch.manual_seed(args.seed)
    net = ur.create(model, operator=problem.operator, layers=args.layers)
    run_dir = Path(args.run_root) / "grid" / "-".join(grid_key(model, m, n, sparsity, snr)[1:])
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    fit(net, problem, max_seconds=args.seconds, run_dir=run_dir, progress=False)
    seconds = time.perf_counter() - t0
    records = read_metrics(run_dir)
    x, y = problem.test
    with torch.no_grad():
        _, trace = net(y, trace=True)
        _, fista = FISTA(threshold=CLASSICAL_LAMBDA).run(
            y, problem.operator, iterations=args.layers, trace=True
        )
    per_layer = [round(float(nmse_db(t, x)), 3) for t in trace]
    target = grid_target(model, m, n, sparsity, snr)
    return {
        "problem": repr(problem),
        "recipe": net.recipe.summary(),
        "settings": json.loads((run_dir / "config.json").read_text())["fit"],
        "support": list(net.algorithm.support) if getattr(net.algorithm, "support", None) else None,
        "nmse_db_per_layer": per_layer,
        "nmse_db": per_layer[-1],
        "fista_16_db": round(float(nmse_db(fista[-1], x)), 3),
        "noise_floor_db": None if snr is None else -snr,
        "target_db": target,
        "meets_target": None if target is None else per_layer[-1] <= target,
        "deepest_layer_trained": max(r["layer"] for r in records),
        "optimizer_steps": records[-1]["step"],
        "wall_seconds": round(seconds, 1),
    }


def grid(args: argparse.Namespace) -> None:
    done = json.loads(args.out.read_text()).get("grid", {}) if args.out.exists() else {}
    for cell in grid_cells(args):
        key = grid_key(*cell)
        node = done
        for k in key[1:]:
            node = node.get(k, {}) if isinstance(node, dict) else {}
        if args.skip_done and node:
            continue
        result = grid_cell(*cell, args)
        merge_results(args.out, key, result)
        print(
            json.dumps(
                {
                    "cell": "/".join(key[1:]),
                    "nmse_db": result["nmse_db"],
                    "target": result["target_db"],
                    "steps": result["optimizer_steps"],
                }
            ),
            flush=True,
        )


#: Matched VAMP, NMSE (dB) after T = 1…10 iterations on Borgerding's problem (REFERENCES.md).
MATCHED_VAMP_DB = [-6.75, -12.57, -18.88, -25.72, -32.81, -39.18, -43.32, -44.92, -45.37, -45.48]


def lamp_vamp(args: argparse.Namespace) -> dict:
    """LAMP-bg (Bernoulli-Gaussian MMSE denoiser) with ``--lamp-layers`` layers on Borgerding's
    problem (columns not normalised, SNR 40 dB), trained layer-wise within ``--seconds`` on the
    linear NMSE (the reported metric), against matched VAMP's published NMSE and Bayes-optimal
    AMP (the untrained network).

    Layer-wise training grows the network: the T-layer LAMP is the network when its T-th layer's
    stages end (Borgerding et al. report each depth so). Its test NMSE (Borgerding's definition)
    is taken then, for T = 1..layers; later stages tune the earlier layers for the deeper outputs,
    so the final network's intermediate outputs are recorded too, apart."""
    import unrolled as ur
    from unrolled.train import fit, read_metrics

    problem = SparseCoding(
        250, 500, 0.1, snr_db=40.0, normalize_columns=False, seed=args.seed, test_size=1000
    )
    x, y = problem.test
    net = ur.create("lamp", operator=problem.operator, layers=args.lamp_layers, shrinkage="bg")
    with torch.no_grad():
        untrained = [nmse_db_of_mean(t, x) for t in net(y, trace=True)[1]]
    run_dir = Path(args.run_root) / "lamp-bg-snr40"
    shutil.rmtree(run_dir, ignore_errors=True)
    settings = {"schedule": "layerwise", "lr": 1e-3, "batch_size": 64, "loss": "nmse"}
    if args.long:
        settings.update(patience=None, lr_schedule="cosine")
    per_depth: dict[int, float] = {}

    def grown(info: dict) -> None:
        """When layer T + 1's first stage opens, layers 1..T are the trained T-layer network
        (that stage trains only the new layer)."""
        depth = info["layer"] - 1
        if depth >= 1 and depth not in per_depth:
            with torch.no_grad():
                per_depth[depth] = nmse_db_of_mean(net(y, depth=depth), x)

    t0 = time.perf_counter()
    fit(
        net,
        problem,
        max_seconds=args.seconds,
        run_dir=run_dir,
        progress=False,
        callback=grown,
        **settings,
    )
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        trace = net(y, trace=True)[1]
        final = [nmse_db_of_mean(t, x) for t in trace]
        final_sums = [nmse_db_of_sums(t, x) for t in trace]
    # a depth whose next layer never opened (the budget ran out) is the final network's
    for depth in range(1, args.lamp_layers + 1):
        per_depth.setdefault(depth, final[depth - 1])
    grown_db = [per_depth[t] for t in range(1, args.lamp_layers + 1)]
    vamp = MATCHED_VAMP_DB[: args.lamp_layers]
    return {
        "model": "lamp (shrinkage='bg')",
        "problem": repr(problem) + ", columns not normalised, 1000 test samples",
        "training": {**settings, "max_seconds": args.seconds},
        "nmse_db_per_depth": [round(v, 3) for v in grown_db],
        "final_network_nmse_db_per_layer": [round(v, 3) for v in final],
        "final_network_nmse_db_per_layer_ratio_of_sums": [round(v, 3) for v in final_sums],
        "bayes_amp_nmse_db_per_iteration": [round(v, 3) for v in untrained],
        "matched_vamp_published_db": vamp,
        "gap_to_vamp_db": [round(a - b, 3) for a, b in zip(grown_db, vamp, strict=True)],
        "within_1_db_of_vamp": all(a - b <= 1.0 for a, b in zip(grown_db, vamp, strict=True)),
        "wall_seconds": seconds,
        "optimizer_steps": read_metrics(run_dir)[-1]["step"],
    }


def data_efficiency(args: argparse.Namespace) -> dict:
    """ALISTA and LISTA (16 layers) against a black-box MLP with at least LISTA's parameter count,
    each trained on fixed sets of ``--sizes`` distinct samples (reused for epochs; validation 500
    samples for early stopping, test 1000), ``--seconds`` per run."""
    import unrolled as ur
    from unrolled.metrics import nmse_db
    from unrolled.models import MLP
    from unrolled.train import fit, read_metrics

    # ALISTA and LISTA train by their recipes; the MLP, which has none, end to end at the rate
    # and patience measured for a few million weights (LISTA's, in its own coordinates).
    overrides = {
        "alista": {},
        "lista": {},
        "mlp": {"schedule": "end-to-end", "lr": 1e-4, "patience": 1000},
    }
    recipes = {
        name: ur.recipe_of(name).summary() if name != "mlp" else overrides["mlp"]
        for name in overrides
    }
    out: dict = {"seconds_per_run": args.seconds, "recipes": recipes, "runs": {}}
    t_all = time.perf_counter()
    for size in args.sizes:
        for model in overrides:
            # A fresh problem per run (the same fixed set): each run's batches are its own.
            problem = SparseCoding(
                250, 500, 0.1, seed=args.seed, validation_size=500, test_size=1000, train_size=size
            )
            A = problem.operator
            torch.manual_seed(args.seed)
            if model == "mlp":
                lista = ur.create("lista", operator=A, layers=args.layers)
                net = MLP.with_at_least(
                    problem.m, problem.n, sum(p.numel() for p in lista.parameters())
                )
            else:
                net = ur.create(model, operator=A, layers=args.layers)
            run_dir = Path(args.run_root) / f"data-{model}-{size}"
            shutil.rmtree(run_dir, ignore_errors=True)
            t0 = time.perf_counter()
            fit(
                net,
                problem,
                max_seconds=args.seconds,
                run_dir=run_dir,
                progress=False,
                **overrides[model],
            )
            seconds = time.perf_counter() - t0
            x, y = problem.test
            with torch.no_grad():
                test_db = float(nmse_db(net(y), x))
            steps = read_metrics(run_dir)[-1]["step"]
            out["runs"].setdefault(model, {})[str(size)] = {
                "test_nmse_db": round(test_db, 3),
                "parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
                "wall_seconds": seconds,
                "optimizer_steps": steps,
            }
            print(
                json.dumps(
                    {
                        "model": model,
                        "train_size": size,
                        "test_nmse_db": round(test_db, 2),
                        "seconds": round(seconds),
                    }
                ),
                flush=True,
            )
    out["sweep_seconds"] = time.perf_counter() - t_all
    out["problem"] = repr(problem) + ", unit-norm columns, 1000 test samples (train_size varies)"
    return out


#: The issue's targets for fit(..., max_seconds=150), noiseless, 16 layers (REFERENCES.md).
TARGETS_150S = {"alista": -60.0, "lista-cpss": -50.0}
#: Published levels at 16 layers, read off figures (Chen et al. 2018, Liu et al. 2019; REFERENCES.md).
PUBLISHED_DB = {
    "noiseless": {
        "lista": "−35 to −40",
        "lista-cp": "about −45",
        "lista-cpss": "−60 to −70",
        "alista": "−60 to −70",
    },
    "snr40": {m: "−40 to −42" for m in ("lista", "lista-cp", "lista-cpss", "alista")},
}


def markdown(data: dict) -> str:
    """The README's tables from the results JSON."""
    rows = []
    c = data.get("classical")
    if c:
        pub = c["published"]
        rows += [
            "| algorithm (40 dB SNR) | iterations to −35 dB | published | settles at (dB) | published |",
            "| --- | --- | --- | --- | --- |",
        ]
        for k in ("amp", "fista", "ista"):
            rows.append(
                f"| {k.upper()} | {c['iterations_to_minus_35_db'][k]} | "
                f"{pub['iterations_to_minus_35_db'][k]} | {c['settled_db'][k]:.2f} | "
                f"about {pub['settles_near_db']} |"
            )
    learned_rows = []
    for model, by_noise in sorted(data.get("learned", {}).items()):
        for noise, by_budget in sorted(by_noise.items()):
            for budget, r in sorted(by_budget.items(), key=lambda kv: float(kv[0][:-1])):
                target = (
                    TARGETS_150S.get(model) if noise == "noiseless" and budget == "150s" else None
                )
                learned_rows.append(
                    f"| {model} | {noise} | {r['training'].get('schedule', '')}"
                    f"{' + cosine, no early stop' if r['training'].get('lr_schedule') == 'cosine' else ''} | {r['wall_seconds']:.0f} s | "
                    f"{r['training_samples_seen']:,} | **{r['nmse_db_per_layer'][-1]:.1f}** | "
                    f"{'' if target is None else f'≤ {target:g}'} | "
                    f"{PUBLISHED_DB.get(noise, {}).get(model, '')} | "
                    f"{r['classical_nmse_db_per_iteration']['fista'][-1]:.1f} |"
                )
    if learned_rows:
        rows += [
            "",
            "| model, 16 layers | noise | schedule | training time | samples seen | test NMSE at layer 16 (dB) | target in 150 s | published (approx.) | FISTA, 16 iterations |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *learned_rows,
        ]
    if data.get("grid"):
        rows += ["", grid_markdown(data["grid"])]
    lv = data.get("lamp_vs_vamp")
    if lv:
        T = len(lv["nmse_db_per_depth"])
        rows += [
            "",
            "| 40 dB, Borgerding's problem | "
            + " | ".join(f"T = {t}" for t in range(1, T + 1))
            + " |",
            "| --- |" + " --- |" * T,
            f"| LAMP-bg with T layers, trained layer-wise {lv['wall_seconds']:.0f} s (dB) | "
            + " | ".join(f"**{v:.2f}**" for v in lv["nmse_db_per_depth"])
            + " |",
            "| matched VAMP, published (dB) | "
            + " | ".join(f"{v:.2f}" for v in lv["matched_vamp_published_db"])
            + " |",
            "| the final network's output after layer T (dB) | "
            + " | ".join(f"{v:.2f}" for v in lv["final_network_nmse_db_per_layer"])
            + " |",
            "| Bayes-optimal AMP = LAMP-bg untrained (dB) | "
            + " | ".join(f"{v:.2f}" for v in lv["bayes_amp_nmse_db_per_iteration"])
            + " |",
        ]
    de = data.get("data_efficiency")
    if de:
        sizes = sorted({int(k) for runs in de["runs"].values() for k in runs})
        rows += [
            "",
            "| test NMSE (dB) by training-set size | parameters | "
            + " | ".join(f"{n:,}" for n in sizes)
            + " |",
            "| --- | --- |" + " --- |" * len(sizes),
        ]
        for model, runs in de["runs"].items():
            params = next(iter(runs.values()))["parameters"]
            cells = [f"{runs[str(n)]['test_nmse_db']:.1f}" if str(n) in runs else "" for n in sizes]
            rows.append(f"| {model} | {params:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _db(value: float) -> str:
    return "−∞" if value == float("-inf") else f"{value:.1f}".replace("-", "−")


def grid_markdown(grid: dict) -> str:
    """The grid's table (test NMSE at layer 16, dB; target in brackets, ✗ where missed) and
    each model's worst and best cell."""
    measured = {size for by_size in grid.values() for size in by_size}
    order = [f"{m}x{n}" for m, n in GRID_SIZES]
    sizes = sorted(measured, key=lambda s: (order.index(s) if s in order else len(order), s))
    lines = [
        "| model | sparsity | noise | " + " | ".join(s.replace("x", "×") for s in sizes) + " |",
        "| --- | --- | --- |" + " --- |" * len(sizes),
    ]
    extremes = []
    for models, sparsity, snr in GRID_SETTINGS:
        noise = "noiseless" if snr is None else f"snr{snr:g}"
        for model in models:
            cells = []
            for size in sizes:
                r = grid.get(model, {}).get(size, {}).get(f"{sparsity:g}", {}).get(noise)
                if not r:
                    cells.append("")
                    continue
                text = _db(r["nmse_db"])
                if r.get("target_db") is not None:
                    text += f" ({_db(r['target_db'])}{'' if r['meets_target'] else ' ✗'})"
                cells.append(text)
            if any(cells):
                label = "noiseless" if snr is None else f"{snr:g} dB SNR"
                lines.append(f"| {model} | {sparsity:g} | {label} | " + " | ".join(cells) + " |")
    for model, by_size in sorted(grid.items()):
        results = [
            (r["nmse_db"], f"{size.replace('x', '×')}, p {s}, {noise}")
            for size, by_s in by_size.items()
            for s, by_noise in by_s.items()
            for noise, r in by_noise.items()
        ]
        if results:
            worst, best = max(results), min(results)
            extremes.append(
                f"| {model} | {_db(worst[0])} ({worst[1]}) | {_db(best[0])} ({best[1]}) |"
            )
    return "\n".join(
        [
            *lines,
            "",
            "| model | worst cell (dB) | best cell (dB) |",
            "| --- | --- | --- |",
            *extremes,
        ]
    )


def plot(data: dict, path: Path) -> Path:
    """The README figure: learned networks per layer against ISTA/FISTA per iteration
    (noiseless, 150 s), and test NMSE against training-set size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    classical = None
    for model, by_noise in sorted(data.get("learned", {}).items()):
        r = by_noise.get("noiseless", {}).get("150s")
        if r:
            values = r["nmse_db_per_layer"]
            left.plot(range(1, len(values) + 1), values, "o-", ms=3, label=model)
            classical = r["classical_nmse_db_per_iteration"]
    for name, values in (classical or {}).items():
        left.plot(
            range(1, len(values) + 1), values, "k--" if name == "ista" else "k:", label=name.upper()
        )
    left.set(
        xlabel="layer / iteration",
        ylabel="test NMSE (dB)",
        title="noiseless 250×500, 150 s of training",
    )
    de = data.get("data_efficiency")
    if de:
        for model, runs in de["runs"].items():
            sizes = sorted(runs, key=int)
            right.plot(
                [int(n) for n in sizes], [runs[n]["test_nmse_db"] for n in sizes], "o-", label=model
            )
        right.set_xscale("log")
        right.set(
            xlabel="distinct training samples", ylabel="test NMSE (dB)", title="data efficiency"
        )
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part", choices=["classical", "learned", "lamp-vamp", "data-efficiency", "grid"]
    )
    parser.add_argument("--models", nargs="+", default=None, help="grid: only these models")
    parser.add_argument(
        "--sizes-grid", nargs="+", default=None, metavar="MxN", help="grid: only these sizes"
    )
    parser.add_argument("--skip-done", action="store_true", help="grid: skip measured cells")
    parser.add_argument("--lamp-layers", type=int, default=6, help="lamp-vamp: depth (≤ 10)")
    parser.add_argument("--model", default="alista", help="learned: a registered model")
    parser.add_argument(
        "--seconds", type=float, default=150.0, help="learned, data-efficiency: budget per run"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100, 1000, 10000, 100000],
        help="data-efficiency: training-set sizes",
    )
    parser.add_argument("--snr-db", type=float, default=None, help="learned: noise (default none)")
    parser.add_argument(
        "--long",
        action="store_true",
        help="learned, lamp-vamp: no early stopping and a cosine learning rate over each stage "
        "(for the 15-minute runs; the config's patience would end them on the first plateau)",
    )
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--run-root", default="runs/benchmark", help="learned: run directories")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp-iterations", type=int, default=100)
    parser.add_argument("--fista-iterations", type=int, default=1000)
    parser.add_argument("--ista-iterations", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the README tables and exit")
    parser.add_argument(
        "--plot", type=Path, default=None, help="write the README figure (PNG) from --out and exit"
    )
    args = parser.parse_args(argv)
    if args.table or args.plot:
        data = json.loads(args.out.read_text())
        if args.plot:
            print(f"wrote {plot(data, args.plot)}")
        if args.table:
            print(markdown(data))
        return data
    if args.part == "learned":
        result = learned(args)
        noise = "noiseless" if args.snr_db is None else f"snr{args.snr_db:g}"
        merge_results(args.out, ("learned", args.model, noise, f"{args.seconds:g}s"), result)
        print(
            json.dumps(
                {
                    k: result[k]
                    for k in ("model", "nmse_db_per_layer", "wall_seconds", "training_samples_seen")
                }
            )
        )
        return result
    if args.part == "grid":
        grid(args)
        return json.loads(args.out.read_text())
    if args.part == "lamp-vamp":
        if not 1 <= args.lamp_layers <= len(MATCHED_VAMP_DB):
            parser.error(
                f"--lamp-layers: expected 1..{len(MATCHED_VAMP_DB)} (published VAMP iterations), "
                f"got {args.lamp_layers}"
            )
        result = lamp_vamp(args)
        merge_results(args.out, "lamp_vs_vamp", result)
        print(json.dumps({k: result[k] for k in ("nmse_db_per_depth", "gap_to_vamp_db")}))
        return result
    if args.part == "data-efficiency":
        result = data_efficiency(args)
        merge_results(args.out, "data_efficiency", result)
        return result
    if args.part is None:
        parser.error("--part is required (or --table)")
    result = classical(args)
    merge_results(args.out, "classical", result)
    summary = {k: result[k] for k in ("iterations_to_minus_35_db", "settled_db", "seconds")}
    print(json.dumps(summary, indent=2))
    print(f"published: {json.dumps(PUBLISHED_CLASSICAL)}")
    return result


if __name__ == "__main__":
    main()
