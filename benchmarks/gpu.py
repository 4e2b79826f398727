"""The GPU check, one script for a lent GPU's few minutes (issue 16): no host synchronisation
in any model's training step, and the throughput table's GPU rows.

1. Every config in ``configs/`` (every registered model) takes warm-up steps, then training
   steps under ``torch.cuda.set_sync_debug_mode("error")``: a host synchronisation inside a
   step (``.item()``, ``float(tensor)``, a blocking copy) raises and is recorded by name.
2. `throughput.py`'s measurements on the device, at the CPU configs' sizes and at
   ``configs/gpu/``'s, eager / compiled / bf16, merged into ``results/throughput.json``.

On a machine without a GPU it runs the same on the CPU (no sync check there), which is how the
tests exercise it with a tiny budget:

    python benchmarks/gpu.py                      # on the GPU: about 5 minutes on an H200
    python benchmarks/gpu.py --device cpu --steps 1 --configs alista --out-dir /tmp/g
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import throughput
from unrolled.train.device import resolve_device

CONFIGS = throughput.ROOT / "configs"


def sync_check(name: str, device: torch.device, steps: int) -> dict:
    """Training steps of ``configs/NAME.yaml``'s model; on CUDA under the sync debug mode."""
    step, batch, path = throughput.stepper(name, "eager", device, gpu=False)
    for _ in range(2):  # first calls cache what is computed once (Lipschitz constants, Gram)
        step()
    checking = device.type == "cuda"
    if checking:
        torch.cuda.synchronize(device)
        torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(steps):
            step()
        result = {"config": path, "batch": batch, "steps": steps, "host_syncs": "none"}
    except RuntimeError as e:
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f"{Path(f.filename).name}:{f.lineno}" for f in frames if "unrolled" in f.filename]
        result = {"config": path, "host_sync": " ".join(str(e).split())[:300], "where": ours}
    finally:
        if checking:
            torch.cuda.set_sync_debug_mode("default")
    result["checked"] = checking
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument(
        "--configs", nargs="+", default=sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    )
    parser.add_argument("--models", nargs="+", default=list(throughput.MODELS))
    parser.add_argument("--modes", nargs="+", default=list(throughput.MODES))
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except (TypeError, ValueError) as e:
        parser.error(f"--{e}")
    t0 = time.perf_counter()
    syncs = {}
    for name in args.configs:
        try:
            syncs[name] = sync_check(name, device, min(args.steps, 3))
        except Exception as e:  # a config that cannot run here is recorded, not fatal
            syncs[name] = {"error": f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"}
        print(f"sync check {name:<22} {syncs[name]}", flush=True)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "gpu_check",
        "device": str(device),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sync_check": syncs,
        "steps_with_host_syncs": sorted(k for k, v in syncs.items() if "host_sync" in v),
    }
    (out / f"sync_check_{device.type}.json").write_text(json.dumps(report, indent=2) + "\n")
    common = ["--device", str(device), "--steps", str(args.steps), "--models", *args.models]
    common += ["--modes", *args.modes]
    common += ["--out", str(out / "throughput.json")]
    throughput.main(common)
    if device.type == "cuda":
        throughput.main([*common, "--gpu-configs"])
    print(f"gpu check done in {time.perf_counter() - t0:.0f} s")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
