"""Training throughput: steps and samples per second, one model per domain, eager / compiled /
bf16, with the fraction of the time the device is busy.

Models (each at its config's size; ``configs/gpu/NAME.yaml`` where one exists, with
``--gpu-configs``): ALISTA (sparse coding, 250×500), MoDL and E2E VarNet (8-coil MRI, 64²),
OAMP-Net2 (4×4 QPSK MIMO), ALS-Net (matrix completion). A step is `fit`'s: draw the batch,
move it to the device, forward under the precision's autocast (compiled as ``fit(compile=True)``
compiles), the recipe's loss, backward, Adam. Steps are timed back to back after a warm-up
(compilation included there), the device synchronised at the end only. "Busy" is the share of
the wall time that the torch profiler finds kernels running: on a GPU its kernels' time, on
the CPU the time inside ATen operators (the rest is Python and dispatch on the host).

    python benchmarks/throughput.py                      # CPU: merges into results/throughput.json
    python benchmarks/throughput.py --device cuda --gpu-configs   # on a GPU (one script, < 10 min)
    python benchmarks/throughput.py --steps 2 --models alista --out /tmp/t.json   # quick look
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path
from typing import Any

import torch

from common import describe_machine
from unrolled.runs import build_model, build_problem, load_config
from unrolled.train.config import prepare_model, resolve_settings
from unrolled.train.device import Precision, compile_model, move, place, resolve_device
from unrolled.train.losses import supervised_loss

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "throughput.json"
MODELS = ("alista", "modl", "varnet", "oamp-net2", "als-net")
MODES = ("eager", "compiled", "bf16")


def config_path(model: str, gpu: bool) -> Path:
    gpu_config = ROOT / "configs" / "gpu" / f"{model}.yaml"
    return gpu_config if gpu and gpu_config.exists() else ROOT / "configs" / f"{model}.yaml"


def stepper(model_name: str, mode: str, device: torch.device, gpu: bool) -> tuple[Any, int, str]:
    """A function taking one training step as `fit` does, its batch size, and the config."""
    path = config_path(model_name, gpu)
    config = load_config(path)
    problem = build_problem(config)
    torch.manual_seed(0)
    model = build_model(config, problem)
    settings = resolve_settings(model, problem, {})
    prepare_model(model, problem)
    place(model, problem, device)
    layers = int(model.layers)
    forward = model
    if mode == "compiled":
        complex_data = any(t.is_complex() for t in problem.validation[:2])
        forward = compile_model(model, layers, device, complex_data)
    precision = Precision("bf16" if mode == "bf16" else "fp32", device)
    weights = (0.0,) * (layers - 1) + (1.0,)
    if settings["schedule"] == "deep-supervision":
        weights = (1.0,) * layers
    batch = settings["batch_size"]
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()

    def step() -> None:
        x, y, *rest = problem.sample(batch)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        A = move(rest[0], device, non_blocking=True) if rest else None
        optimizer.zero_grad(set_to_none=True)
        with precision.autocast():
            loss = supervised_loss(model, x, y, layers, weights, settings["loss"], A, forward)
        loss.backward()
        optimizer.step()

    return step, batch, str(path.relative_to(ROOT))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def busy_fraction(step: Any, device: torch.device, steps: int) -> float:
    """Share of the wall time of ``steps`` steps during which the profiler sees kernels run."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    synchronize(device)
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        wall = time.perf_counter() - t0
    events = prof.key_averages()
    if device.type == "cuda":
        busy_us = sum(e.self_device_time_total for e in events)
    else:
        busy_us = sum(e.self_cpu_time_total for e in events if e.key.startswith("aten::"))
    return min(1.0, busy_us / 1e6 / wall)


def measure(model: str, mode: str, device: torch.device, gpu: bool, steps: int) -> dict:
    torch._dynamo.reset()
    step, batch, path = stepper(model, mode, device, gpu)
    t0 = time.perf_counter()
    for _ in range(3 if mode == "compiled" else 2):  # compile (per depth) and warm up
        step()
    synchronize(device)
    warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    seconds = time.perf_counter() - t0
    return {
        "config": path,
        "batch": batch,
        "steps": steps,
        "ms_per_step": 1e3 * seconds / steps,
        "steps_per_second": steps / seconds,
        "samples_per_second": steps * batch / seconds,
        "busy": busy_fraction(step, device, max(1, min(steps, 5))),
        "warmup_seconds": warmup,
    }


def markdown(data: dict) -> str:
    """The README's table: one row per device and model, eager / compiled / bf16."""
    rows = [
        "| device | model (config) | batch | eager: ms/step, samples/s, busy | compiled | bf16 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in data.get("devices", {}).values():
        for model, modes in entry["models"].items():
            cells = []
            for mode in MODES:
                r = modes.get(mode)
                cells.append(
                    "failed" if r is None or "error" in r
                    else f"{r['ms_per_step']:.1f} ms, {r['samples_per_second']:.0f}/s, "
                    f"{100 * r['busy']:.0f}%"
                )  # fmt: skip
            first = next((r for r in modes.values() if "config" in r), {})
            rows.append(
                f"| {entry['label']} | {model} (`{first.get('config', '?')}`) | "
                f"{first.get('batch', '?')} | " + " | ".join(cells) + " |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--gpu-configs", action="store_true", help="configs/gpu/ where they exist")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the table from --out")
    args = parser.parse_args(argv)
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.table:
        print(markdown(data))
        return data
    try:
        device = resolve_device(args.device)
    except (TypeError, ValueError) as e:
        parser.error(f"--{e}")
    machine = describe_machine()
    label = (
        f"{torch.cuda.get_device_name(device)}" if device.type == "cuda"
        else f"{machine['cpu']}, {machine['torch_threads']} threads"
    )  # fmt: skip
    key = f"{device.type}{'-gpu-configs' if args.gpu_configs else ''}"
    entry: dict = {
        "label": label,
        "machine": machine,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/throughput.py "
        + " ".join(a for a in (argv if argv is not None else []) if a),
        "models": {},
    }
    for model in args.models:
        entry["models"][model] = {}
        for mode in args.modes:
            t0 = time.perf_counter()
            try:
                r = measure(model, mode, device, args.gpu_configs, args.steps)
            except Exception as e:  # a mode a model cannot run is a finding, recorded
                r = {"error": f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"}
            entry["models"][model][mode] = r
            shown = r.get("error") or (
                f"{r['ms_per_step']:.1f} ms/step, {r['samples_per_second']:.0f} samples/s, "
                f"busy {100 * r['busy']:.0f}%"
            )
            print(f"{model:<10} {mode:<9} {shown}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    data.setdefault("benchmark", "throughput")
    data.setdefault("devices", {})[key] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {args.out}\n\n{markdown(data)}")
    return data


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
