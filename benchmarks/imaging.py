"""The imaging zoo on held-out images: each learned model next to its classical counterpart and a
black-box U-Net trained on the same data, plus the memory and time of checkpointed backprop.

One model and task per call; each merges into benchmarks/results/imaging.json, so the
benchmark runs in pieces (and in the background):

    python benchmarks/imaging.py --task mri4 --model modl --seconds 240
    python benchmarks/imaging.py --task mri4 --model unet --seconds 240
    python benchmarks/imaging.py --part memory        # full vs checkpointed, 5/10/20 cascades
    python benchmarks/imaging.py --table              # the README's table
    python benchmarks/imaging.py --gpu                # the headline pairs on a lent GPU
                                                      # (benchmarks/imaging_gpu.py says how)

Tasks (test sets exactly as in benchmarks/imaging_classical.py: the held-out images at 264 px
for CS and 256 px otherwise, the same operators, seeds and noise):

    cs25, cs50             block CS 33×33 (ISTA-Net, ISTA-Net+ vs TV-FISTA, pseudo-inverse)
    mri4-mni, mri8-mni     single-coil random lines on held-out MNI152 brain slices (128 px;
                           trained on whole training slices; MoDL, VarNet, ADMM-Net, learned
                           primal-dual, PnP-PGD vs zero-filled, TV), plus the natural images
                           as a second, labelled test set
    mri4-multi-mni, ...    8 coils (the same, and CG-SENSE)
    mri4, mri8, mri4-multi, mri8-multi
                           the same on the natural images (256 px; trained on patches)
    deblur                 Gaussian and motion blur at σ = 2.55 and 7.65 /255 (USRNet-style HQS,
                           PnP-HQS, PnP-PGD vs Wiener and TV-ADMM); trained on motion kernels
                           only, so the Gaussian kernel is the unseen-kernel robustness test
    sr2, sr4               ×2 and ×4 (USRNet-style HQS vs bicubic and HQS-TV)

MRI models are also tested off their training distribution (robustness): a model trained at 4×
on equispaced lines (a mask type it never saw) and at 8× (a rate it never saw), and one trained
at 8× at 4×.

Models train with `unrolled.train.fit` for ``--seconds`` on patches of the training images, with
the model section of ``configs/<model>.yaml`` (the CPU configs); the classical methods run here
on the same test measurements with the weights tuned on training images by the classical
benchmark (from imaging_classical.json), so every number in one test set is measured on the
same data. PSNR (dB) and SSIM have data range 1 (magnitudes for MRI); ``margin_db`` is the
model's PSNR minus the best classical counterpart's.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
import imaging_classical as classical
from common import merge_results
from unrolled.config import load_yaml
from unrolled.core import create
from unrolled.data import (
    CompressiveImaging,
    Deblurring,
    MRIReconstruction,
    SuperResolution,
    add_noise,
)
from unrolled.data import classical as known  # the methods the problems' baselines run
from unrolled.models import UNetBaseline
from unrolled.models.ista_net import BlockLinearStart, fit_block_start
from unrolled.ops import (
    MRI,
    SENSE,
    BlockCS,
    Blur,
    Downsample,
    coil_maps,
    gaussian_kernel,
    masks,
    random_motion_kernel,
)
from unrolled.train import fit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "imaging.json"
SEED = 0  # the classical benchmark's seed
Method = Callable[[torch.Tensor, Any], torch.Tensor]


@dataclass
class TestSet:
    """Held-out images measured one way, and the classical methods to run on them."""

    x: torch.Tensor
    y: torch.Tensor
    A: Any
    methods: dict[str, Method]  # name -> (y, A) -> x̂, weights already set
    classical_key: tuple[str, str] | None = None  # where the classical benchmark has this set


@dataclass
class Task:
    problem: Callable[..., Any]  # the training problem's class
    problem_kwargs: dict[str, Any]
    models: tuple[str, ...]
    test_sets: Callable[[], dict[str, TestSet]]
    notes: list[str] = field(default_factory=list)
    patch: int | None = None  # the training images' side, if not the problem's default here


@functools.cache
def _classical_results() -> dict:
    return json.loads(classical.RESULTS.read_text())


def _weight(part: str, key: str, method: str) -> float:
    """The weight the classical benchmark tuned on training images for ``method``."""
    return _classical_results()[part][key][method]["weight"]


# -- test sets --------------------------------------------------------------------------------


def _cs_sets(ratio: float) -> dict[str, TestSet]:
    size = 264
    x = classical._grey_images(size)
    A = CompressiveImaging(99, ratio, matrix_seed=SEED, validation_size=1).blocks((1, size, size))
    key = f"{ratio:.0%}"
    w = _weight("cs", key, "tv-fista")
    methods = {
        "pseudo-inverse": lambda y, A: A.H(y),
        "tv-fista": lambda y, A: known.tv_fista(y, A, w),
    }
    return {f"CS {key}": TestSet(x, A(x), A, methods, ("cs", key))}


def _mri_operator(size: int, acceleration: int, coils: int, kind: str = "random") -> Any:
    g = torch.Generator().manual_seed(SEED)
    center = 0.08 if acceleration == 4 else 0.04
    if kind == "random":
        mask = masks.random_lines((size, size), acceleration, center, generator=g)
    else:
        mask = masks.equispaced_lines((size, size), acceleration, center)
    return (MRI(mask) if coils == 1 else SENSE(mask, coil_maps(8, (size, size)))), g


def _mri_set(acceleration: int, coils: int, kind: str = "random", mni: bool = False) -> TestSet:
    """As the classical benchmark measures: the training images' noise is drawn first."""
    noise = 0.002
    if mni:
        x_train, x = classical.mni_images("train", SEED + 1), classical.mni_images("test", SEED)
        part = "mri_mni"
    else:
        x_train = classical._mri_images(256, classical.TRAIN_FOR_TUNING, SEED + 1)
        x = classical._mri_images(256, None, SEED)
        part = "mri"
    A, g = _mri_operator(x.shape[-1], acceleration, coils, kind)
    add_noise(A(x_train), noise, g)
    y = add_noise(A(x), noise, g) * A.weights
    coil = "single" if coils == 1 else "multi"
    key = f"{coil}-coil {acceleration}x"
    tuned_at = f"{coil}-coil {4 if kind != 'random' else acceleration}x"
    w_tv = _weight(part, tuned_at, "tv-pdhg")
    methods: dict[str, Method] = {"zero-filled": lambda y, A: A.H(y)}
    if coils > 1:
        w_cg = _weight(part, tuned_at, "cg-sense")
        methods["cg-sense"] = lambda y, A: known.cg_sense(y, A, w_cg)
    methods["tv-pdhg"] = lambda y, A: known.tv_pdhg(y, A, w_tv)
    return TestSet(x, y, A, methods, (part, key) if kind == "random" else None)


def _mri_sets(acceleration: int, coils: int, mni: bool = False) -> dict[str, TestSet]:
    """The task's test set, then its robustness sets: a rate and (at 4x) a mask type not
    trained on. On MNI slices, the natural-image set too, labelled."""
    coil = "single" if coils == 1 else "multi"
    other = 8 if acceleration == 4 else 4
    name = f"MRI {coil}-coil {acceleration}x"
    sets = {f"{name} (MNI152 slices)" if mni else name: _mri_set(acceleration, coils, mni=mni)}
    sets[f"robustness: {other}x (rate not trained)"] = _mri_set(other, coils, mni=mni)
    if acceleration == 4:
        sets["robustness: equispaced 4x (mask type not trained)"] = _mri_set(
            4, coils, "equispaced", mni
        )
    if mni:
        sets[f"natural images: {name}"] = _mri_set(acceleration, coils)
    return sets


def _deblur_sets() -> dict[str, TestSet]:
    size = 256
    x_train = classical._grey_images(size, classical.TRAIN_FOR_TUNING)
    x = classical._grey_images(size)
    kernels = {
        "gaussian (25×25, σ 1.6)": gaussian_kernel(25, 1.6),
        "motion (25×25, seeded)": random_motion_kernel(25, torch.Generator().manual_seed(SEED)),
    }
    sets = {}
    for kname, k in kernels.items():
        A = Blur(k, (1, size, size))
        for level in (2.55, 7.65):
            g = torch.Generator().manual_seed(SEED)
            add_noise(A(x_train), level / 255, g)
            y = add_noise(A(x), level / 255, g)
            key = f"{kname}, noise {level}/255"
            w_w, w_tv = (_weight("deblur", key, m) for m in ("wiener", "tv-admm"))
            methods = {
                "blurred input": lambda y, A: y,
                "wiener": lambda y, A, w=w_w: known.wiener(y, A, w),
                "tv-admm": lambda y, A, w=w_tv: known.tv_admm(y, A, w),
            }
            sets[f"deblur {key}"] = TestSet(x, y, A, methods, ("deblur", key))
    return sets


def _sr_sets(scale: int) -> dict[str, TestSet]:
    size, sigma = 256, {2: 0.8, 4: 1.6}[scale]
    x = classical._grey_images(size)
    A = Downsample(gaussian_kernel(4 * scale + 3, sigma), scale, (1, size, size))
    key = f"x{scale} (Gaussian blur σ {sigma})"
    w = _weight("sr", key, "hqs-tv")
    methods = {
        "bicubic": lambda y, A: classical.bicubic(y, scale).clamp(0, 1),
        "hqs-tv": lambda y, A: known.hqs_tv(y, A, w),
    }
    return {f"SR {key}": TestSet(x, A(x), A, methods, ("sr", key))}


MRI_MODELS = ("modl", "varnet", "admm-net", "learned-primal-dual", "pnp-pgd")
#: The MRI tasks: name -> (acceleration, coils); each on the natural images and, as
#: ``<name>-mni``, on MNI152 brain slices (trained on whole training slices).
MRI_TASKS = {"mri4": (4, 1), "mri8": (8, 1), "mri4-multi": (4, 8), "mri8-multi": (8, 8)}
TASKS = {
    "cs25": Task(
        CompressiveImaging, {"ratio": 0.25}, ("ista-net-plus", "ista-net"), lambda: _cs_sets(0.25)
    ),
    "cs50": Task(
        CompressiveImaging, {"ratio": 0.5}, ("ista-net-plus", "ista-net"), lambda: _cs_sets(0.5)
    ),
    **{
        task + suffix: Task(
            MRIReconstruction,
            {
                "acceleration": acc,
                "center_fraction": 0.08 if acc == 4 else 0.04,
                "coils": coils,
                **({"images": "mni"} if mni else {}),
            },
            MRI_MODELS,
            lambda acc=acc, coils=coils, mni=mni: _mri_sets(acc, coils, mni),
            patch=classical.MNI_SIZE if mni else None,
        )
        for task, (acc, coils) in MRI_TASKS.items()
        for suffix, mni in (("", False), ("-mni", True))
    },
    "deblur": Task(
        Deblurring,
        {"kernel": "motion", "kernel_size": 25, "noise": (0.0, 0.04)},
        ("usrnet", "pnp-hqs", "pnp-pgd"),
        _deblur_sets,
    ),
    "sr2": Task(
        SuperResolution, {"scale": 2, "noise": (0.0, 0.01)}, ("usrnet",), lambda: _sr_sets(2)
    ),
    "sr4": Task(
        SuperResolution, {"scale": 4, "noise": (0.0, 0.01)}, ("usrnet",), lambda: _sr_sets(4)
    ),
}
#: The training patch side of each problem (CS: 3×3 blocks of 33), where its task sets none.
PATCH = {CompressiveImaging: 99}


def patch_of(task: Task, default: int) -> int:
    return task.patch or PATCH.get(task.problem, default)


def model_config(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model and train sections of ``configs/<name>.yaml`` (``name`` stripped of keys the
    factory does not take here)."""
    config = load_yaml(ROOT / "configs" / f"{name}.yaml")
    model = dict(config["model"])
    model.pop("name")
    return model, dict(config["train"])


def build(name: str, operator: Any, unet_width: int) -> torch.nn.Module:
    if name == "unet":  # for block CS, the same fitted linear start as ISTA-Net's
        start = (
            BlockLinearStart(fit_block_start(operator)) if isinstance(operator, BlockCS) else None
        )
        return UNetBaseline(operator, width=unet_width, pools=3, start=start)
    kwargs, _ = model_config(name)
    return create(name, operator=operator, **kwargs)


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def score(fn: Callable[[], torch.Tensor], x: torch.Tensor) -> dict[str, Any]:
    t0 = time.perf_counter()
    x_hat = fn()
    seconds = time.perf_counter() - t0
    if x_hat.is_complex():
        x_hat, x = x_hat.abs(), x.abs()
    return {**classical.scores(x_hat, x), "seconds_per_image": round(seconds / len(x), 3)}


def run_model(args: argparse.Namespace) -> dict:
    task = TASKS[args.task]
    name = args.model
    torch.manual_seed(args.seed)
    problem = task.problem(size=patch_of(task, args.patch), seed=args.seed, **task.problem_kwargs)
    model = build(name, problem.operator, args.unet_width)
    train = model_config(name)[1] if name != "unet" else model_config(task.models[0])[1]
    train = {k: v for k, v in train.items() if k not in ("max_seconds", "max_steps")}
    print(
        f"{args.task}: training {name} ({parameters(model)} parameters) for {args.seconds} s",
        flush=True,
    )
    t0 = time.perf_counter()
    steps = []
    fit(
        model,
        problem,
        max_seconds=args.seconds,
        max_steps=args.steps,
        progress=False,
        callback=lambda info: steps.append(info["step"]),
        **train,
    )
    trained = time.perf_counter() - t0
    model.eval()
    out: dict[str, Any] = {
        "parameters": parameters(model),
        "train_seconds": round(trained, 1),
        "train_steps": steps[-1] if steps else 0,
        "patch": patch_of(task, args.patch),
        "batch_size": train.get("batch_size"),
        "problem": repr(problem),
        "sets": {},
    }
    for set_name, ts in task.test_sets().items():
        result = score(lambda ts=ts: model(ts.y, ts.A), ts.x)
        print(f"  {set_name}: {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}", flush=True)
        out["sets"][set_name] = result
    return out


def run_classical(args: argparse.Namespace) -> dict:
    out = {}
    for set_name, ts in TASKS[args.task].test_sets().items():
        out[set_name] = {}
        for method, fn in ts.methods.items():
            out[set_name][method] = score(lambda fn=fn, ts=ts: fn(ts.y, ts.A), ts.x)
            print(f"  {set_name} {method}: {out[set_name][method]['psnr']:.2f} dB", flush=True)
        if ts.classical_key is not None:  # the same data as the classical benchmark?
            part, key = ts.classical_key
            first = next(iter(ts.methods))
            there = _classical_results()[part][key][first]["psnr"]
            out[set_name]["matches_classical_benchmark"] = (
                abs(there - out[set_name][first]["psnr"]) < 0.01
            )
    return out


# -- memory and time of checkpointed backprop --------------------------------------------------

MEMORY_PROBE = """
import json, resource, statistics, sys, time, torch
import unrolled as ur
from unrolled.data import MRIReconstruction
layers, backprop = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
p = MRIReconstruction(size=128, coils=8, validation_size=1)
x, y, A = p.sample(4)
net = ur.create("varnet", operator=A, layers=layers, width=12, pools=3, backprop=backprop)
opt = torch.optim.Adam(net.parameters(), 1e-4)
def step():
    opt.zero_grad()
    (net(y, A) - x).abs().square().mean().backward()
    opt.step()
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(3):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_mb": peak / 1024, "step_seconds": statistics.median(times)}))
"""


def memory(args: argparse.Namespace) -> dict:
    """Peak resident memory and step time of one training step of VarNet (8-coil MRI, 4 images
    of 128², U-Nets of width 12) at 5, 10 and 20 cascades, full and checkpointed backprop,
    each in a fresh process (peak RSS is a process high-water mark)."""
    out: dict[str, Any] = {
        "model": "varnet (width 12, 3 pools)",
        "batch": 4,
        "image": 128,
        "coils": 8,
    }
    idle = _probe(
        "import torch, unrolled; import resource, json; print(json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    out["import_rss_mb"] = round(idle["peak_rss_mb"], 1)
    for layers in (5, 10, 20):
        for backprop in ("full", "checkpoint"):
            r = _probe(MEMORY_PROBE, str(layers), backprop)
            out[f"{layers} {backprop}"] = {
                "peak_rss_mb": round(r["peak_rss_mb"], 1),
                "training_mb": round(r["peak_rss_mb"] - idle["peak_rss_mb"], 1),
                "step_seconds": round(r["step_seconds"], 3),
            }
            print(
                f"  {layers:>2} cascades, {backprop:>10}: {out[f'{layers} {backprop}']}", flush=True
            )
    full5 = out["5 full"]["training_mb"]
    out["20 checkpoint fits in 5 full"] = out["20 checkpoint"]["training_mb"] <= full5
    return out


def _probe(code: str, *argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- table ------------------------------------------------------------------------------------


def markdown(data: dict) -> str:
    """One table per task: test set, classical methods, models, PSNR/SSIM."""
    lines = []
    for task_name in TASKS:
        task = data.get(task_name)
        if not task:
            continue
        for set_name, methods in task.get("classical", {}).items():
            if not any(set_name in r["sets"] for r in task.get("models", {}).values()):
                continue  # no learned model measured on it yet
            lines += [
                f"**{set_name}**",
                "",
                "| method | PSNR (dB) | SSIM | s/image | margin (dB) |",
                "| --- | --- | --- | --- | --- |",
            ]
            for m, r in methods.items():
                if isinstance(r, dict):
                    lines.append(
                        f"| {m} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['seconds_per_image']:.3f} | |"
                    )
            for model, r in task.get("models", {}).items():
                s = r["sets"].get(set_name)
                if s:
                    lines.append(
                        f"| **{model}** ({r['parameters']:,} params, {r['train_seconds']:.0f} s) | "
                        f"{s['psnr']:.2f} | {s['ssim']:.3f} | {s['seconds_per_image']:.3f} | "
                        f"{s.get('margin_db', float('nan')):+.2f} |"
                    )
            lines.append("")
    mem = data.get("memory")
    if mem:
        lines += ["| cascades | full: MB, s/step | checkpoint: MB, s/step |", "| --- | --- | --- |"]
        for k in (5, 10, 20):
            f, c = mem[f"{k} full"], mem[f"{k} checkpoint"]
            lines.append(
                f"| {k} | {f['training_mb']:.0f}, {f['step_seconds']:.2f} | {c['training_mb']:.0f}, {c['step_seconds']:.2f} |"
            )
    return "\n".join(lines)


def _margins(data: dict, task: str) -> None:
    """Each model's PSNR minus the best classical counterpart's on each test set (in place)."""
    node = data.get(task, {})
    for r in node.get("models", {}).values():
        for set_name, s in r["sets"].items():
            methods = node.get("classical", {}).get(set_name, {})
            best = max((m["psnr"] for m in methods.values() if isinstance(m, dict)), default=None)
            if best is not None:
                s["margin_db"] = round(s["psnr"] - best, 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument(
        "--model",
        help="a model of the task, or 'unet' (the black box); "
        "omitted: run the task's classical methods",
    )
    parser.add_argument("--part", choices=["memory"])
    parser.add_argument("--seconds", type=float, default=240, help="training budget per model")
    parser.add_argument("--steps", type=int, default=None, help="at most this many steps")
    parser.add_argument("--patch", type=int, default=64, help="training patch side")
    parser.add_argument("--unet-width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true")
    gpu = parser.add_argument_group("GPU mode (benchmarks/imaging_gpu.py)")
    gpu.add_argument("--gpu", action="store_true", help="train the headline pairs on a GPU")
    gpu.add_argument("--gpu-seconds", type=float, default=540, help="the whole run's budget")
    gpu.add_argument("--device", default="cuda", help="where they train (cpu: a dry run)")
    gpu.add_argument("--pairs", nargs="+", help="some of the pairs (default: all)")
    gpu.add_argument(
        "--baselines-only", action="store_true", help="score their classical baselines (CPU)"
    )
    args = parser.parse_args(argv)
    if args.gpu:
        import imaging_gpu

        pairs = args.pairs or list(imaging_gpu.PAIRS)
        if args.baselines_only:
            imaging_gpu.measure_baselines(pairs, args.out)
            return {}
        overrides = {"max_steps": args.steps} if args.steps else None
        return imaging_gpu.run(
            args.gpu_seconds, args.device, pairs, results=args.out, overrides=overrides
        )
    if args.table:
        data = json.loads(args.out.read_text())
        print(markdown(data))
        return data
    if args.part == "memory":
        return merge_results(args.out, "memory", memory(args))["memory"]
    if args.task is None:
        parser.error("--task is required (or --part memory, or --table)")
    if args.model is None:
        data = merge_results(args.out, (args.task, "classical"), run_classical(args))
    else:
        if args.model != "unet" and args.model not in TASKS[args.task].models:
            parser.error(
                f"--model: {args.task} runs {TASKS[args.task].models} or unet, got {args.model!r}"
            )
        data = merge_results(args.out, (args.task, "models", args.model), run_model(args))
    _margins(data, args.task)
    return merge_results(args.out, args.task, data[args.task])[args.task]


if __name__ == "__main__":
    main()
