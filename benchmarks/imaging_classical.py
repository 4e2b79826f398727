"""Classical imaging baselines on held-out images: PSNR/SSIM and time, operator speed against the
naive formulation, and the memory of differentiable CG.

Parts (each merges into benchmarks/results/imaging_classical.json):

    python benchmarks/imaging_classical.py --part cs        # block CS 33×33, 25 % and 50 %
    python benchmarks/imaging_classical.py --part mri       # single- and 8-coil, 4× and 8×
    python benchmarks/imaging_classical.py --part mri-mni   # the same on MNI152 brain slices
    python benchmarks/imaging_classical.py --part deblur    # Gaussian and motion blur, σ = 2.55, 7.65
    python benchmarks/imaging_classical.py --part sr        # ×2 and ×4
    python benchmarks/imaging_classical.py --part speed     # operators against naive ones, 256×256
    python benchmarks/imaging_classical.py --part cg-memory # cg_solve against unrolled CG
    python benchmarks/imaging_classical.py --table          # the README's tables

Images: the held-out test images of `unrolled.data.images` (grey, centre crops of ``--size``
pixels; for MRI also matplotlib's MRI slice, every image given a smooth random phase); for
``mri-mni`` the held-out test slices of the MNI152 T1 brain (`unrolled.data.mni`, 128 px, a
smooth random phase each), tuned on four training slices. Each
method's regularisation weight is chosen on *training* images (a grid, best mean PSNR) and then
applied to the test images unchanged, so no test image tunes anything. PSNR (dB) and SSIM are
means over the test images with data range 1 (magnitudes for MRI); time is the wall time of the
whole test batch on this machine.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from common import merge_results
from unrolled.algorithms import ADMM, CG, FISTA, HQS, PDHG
from unrolled.data import add_noise, load_image, mni_slices, mri_slice, smooth_phase, test_images
from unrolled.data.images import center_crop
from unrolled.metrics import psnr, ssim
from unrolled.ops import (
    MRI,
    SENSE,
    BlockCS,
    Blur,
    Downsample,
    GaussianCS,
    StructuredCS,
    cg_solve,
    coil_maps,
    conjugate_gradient,
    gaussian_kernel,
    masks,
    random_motion_kernel,
)
from unrolled.priors import TV, WaveletL1

RESULTS = Path(__file__).parent / "results" / "imaging_classical.json"
TRAIN_FOR_TUNING = ("ascent", "moon")
Method = Callable[[float], torch.Tensor]


def _grid(center: float, span: int = 3) -> list[float]:
    """Weights ``center · 10^(k/2)`` for k in −span..span (half-decade steps)."""
    return [center * 10 ** (k / 2) for k in range(-span, span + 1)]


def scores(x_hat: torch.Tensor, x: torch.Tensor) -> dict:
    """Mean PSNR/SSIM (data range 1) and the per-image values."""
    p = psnr(x_hat, x, 1.0, "none")
    s = ssim(x_hat, x, 1.0, "none")
    return {
        "psnr": round(float(p.mean()), 3),
        "ssim": round(float(s.mean()), 4),
        "psnr_per_image": [round(float(v), 2) for v in p],
        "ssim_per_image": [round(float(v), 4) for v in s],
    }


def tuned(
    build: Callable[[torch.Tensor, float], torch.Tensor],
    train: tuple[torch.Tensor, torch.Tensor],
    grid: list[float],
) -> float:
    """The weight of ``grid`` with the best mean PSNR of ``build(y_train, weight)`` on the
    training images ``train = (x, y)``."""
    x, y = train
    with torch.no_grad():
        best = max(grid, key=lambda w: float(psnr(build(y, w), x, 1.0)))
    if best in (grid[0], grid[-1]):
        print(f"  note: tuned weight {best:g} is at the edge of the grid {grid}", flush=True)
    return best


def run_methods(
    methods: dict[str, tuple[Callable[[torch.Tensor, float], torch.Tensor], list[float] | None]],
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
) -> dict:
    """Each method: tuned on ``train`` (when it has a grid), timed and scored on ``test``."""
    out = {}
    x, y = test
    for name, (build, grid) in methods.items():
        weight = tuned(build, train, grid) if grid else None
        t0 = time.perf_counter()
        with torch.no_grad():
            x_hat = build(y, weight if weight is not None else 0.0)
        seconds = time.perf_counter() - t0
        out[name] = {**scores(x_hat, x), "seconds": round(seconds, 3), "weight": weight}
        if grid:
            out[name]["weight_at_grid_edge"] = weight in (grid[0], grid[-1])
        print(
            f"  {name:>15}: {out[name]['psnr']:6.2f} dB  SSIM {out[name]['ssim']:.4f}  "
            f"({seconds:.1f} s, weight {weight})",
            flush=True,
        )
    return out


def _grey_images(size: int, names: tuple[str, ...] | None = None) -> torch.Tensor:
    if names is None:
        return test_images(size)[1]
    return torch.stack([center_crop(load_image(n), size) for n in names])


# -- compressed sensing ------------------------------------------------------------------------


def cs(args: argparse.Namespace) -> dict:
    # whole 33×33 blocks (ISTA-Net's) and three wavelet levels: multiples of 264 = 33·8
    # (smaller --size, for quick looks only: whole blocks, a one-level Haar wavelet)
    if args.size >= 256:
        size = 264 * max(1, round(args.size / 264))
    else:
        size = 33 * max(2, args.size // 33)
    shape = (1, size, size)
    wavelet_name, levels = ("db4", 3) if size % 8 == 0 else ("haar", 1)
    x_test = _grey_images(size)
    x_train = _grey_images(size, TRAIN_FOR_TUNING)
    its = args.iterations
    out: dict = {
        "image_size": size,
        "names": list(test_images(size)[0]),
        "wavelet": f"{wavelet_name}, {levels} levels",
        "method_iterations": {"tv-fista": its, "wavelet-fista": its, "tv prox (dual)": 20},
    }
    for ratio in (0.25, 0.5):
        A = BlockCS(shape, 33, ratio=ratio, generator=torch.Generator().manual_seed(args.seed))
        wavelet = WaveletL1(shape, wavelet_name, levels)
        methods = {
            # Φ has orthonormal rows, so Φᵀy is the minimum-norm (pseudo-inverse) solution
            "pseudo-inverse": (lambda y, w, A=A: A.H(y), None),
            "tv-fista": (
                lambda y, w, A=A: FISTA(threshold=w, prox=TV(20)).run(y, A, iterations=its),
                _grid(0.01),
            ),
            "wavelet-fista": (
                lambda y, w, A=A, W=wavelet: FISTA(threshold=w, prox=W).run(y, A, iterations=its),
                _grid(0.01),
            ),
        }
        print(f"CS {ratio:.0%}", flush=True)
        out[f"{ratio:.0%}"] = run_methods(methods, (x_train, A(x_train)), (x_test, A(x_test)))
    return out


# -- MRI --------------------------------------------------------------------------------------


def _mri_images(size: int, names: tuple[str, ...] | None, seed: int) -> torch.Tensor:
    """Magnitude images in [0, 1] with a smooth random phase each, ``(N, size, size)`` complex."""
    grey = _grey_images(size, names)[:, 0]
    if names is None:  # the test set adds the MRI slice
        grey = torch.cat([center_crop(mri_slice(), size)[None], grey])
    return _phased(grey, seed)


#: MNI slices' side in the MRI parts (the template's 1 mm grid is 197×233; 128 px: 1.8 mm).
MNI_SIZE = 128
#: Training slices that tune the weights (every k-th, from the whole training range).
MNI_TUNING = 4


def _phased(magnitudes: torch.Tensor, seed: int) -> torch.Tensor:
    """Magnitudes ``(N, H, W)`` in [0, 1] with a smooth random phase each (complex)."""
    g = torch.Generator().manual_seed(seed)
    shape = tuple(magnitudes.shape[-2:])
    phases = torch.stack([smooth_phase(shape, generator=g) for _ in magnitudes])
    return magnitudes.to(torch.complex64) * phases


def mni_images(split: str, seed: int) -> torch.Tensor:
    """MNI152 slices of ``split`` at `MNI_SIZE` with a smooth random phase each (complex):
    the test slices, or `MNI_TUNING` training slices spread over the training range."""
    slices = mni_slices(split, MNI_SIZE)
    if split == "train":
        slices = slices[torch.linspace(0, len(slices) - 1, MNI_TUNING).round().long()]
    return _phased(slices, seed)


def mri_mni(args: argparse.Namespace) -> dict:
    """The MRI part on held-out MNI152 brain slices (tuned on training slices)."""
    out = mri(args, mni_images("test", args.seed), mni_images("train", args.seed + 1))
    out["images"] = f"MNI152 T1 test slices at {MNI_SIZE} px (unrolled.data.mni)"
    out.pop("names")
    return out


def mri(
    args: argparse.Namespace,
    x_test: torch.Tensor | None = None,
    x_train: torch.Tensor | None = None,
) -> dict:
    """The MRI part: the natural test images and the MRI slice (or the images given)."""
    if x_test is None or x_train is None:
        x_test = _mri_images(args.size, None, args.seed)
        x_train = _mri_images(args.size, TRAIN_FOR_TUNING, args.seed + 1)
    size = x_test.shape[-1]
    noise = 0.002  # k-space noise (orthonormal FFT: the same σ per image pixel)
    its = args.iterations
    out: dict = {
        "image_size": size,
        "kspace_noise_sigma": noise,
        "coils_multi": 8,
        "method_iterations": {"cg-sense": 30, "tv-pdhg": 2 * its, "wavelet-fista": its},
    }
    maps = coil_maps(8, (size, size))
    for coils in (1, 8):
        for acceleration in (4, 8):
            g = torch.Generator().manual_seed(args.seed)
            mask = masks.random_lines(
                (size, size), acceleration, 0.08 if acceleration == 4 else 0.04, generator=g
            )
            A = MRI(mask) if coils == 1 else SENSE(mask, maps)

            def measure(x: torch.Tensor, A=A, g=g) -> torch.Tensor:
                y = A(x)
                return add_noise(y, noise, g) * A.weights  # noise on the sampled entries only

            wavelet = WaveletL1((size, size), "db4", 3, dtype=torch.complex64)
            methods: dict = {"zero-filled": (lambda y, w, A=A: A.H(y), None)}
            if coils > 1:
                methods["cg-sense"] = (
                    lambda y, w, A=A: CG(damping=w).run(y, A, iterations=30),
                    _grid(1e-3),
                )
            methods["tv-pdhg"] = (
                lambda y, w, A=A: PDHG(threshold=w).run(y, A, iterations=2 * its),
                _grid(0.003),
            )
            methods["wavelet-fista"] = (
                lambda y, w, A=A, W=wavelet: FISTA(threshold=w, prox=W).run(y, A, iterations=its),
                _grid(3e-4),
            )
            key = f"{'single' if coils == 1 else 'multi'}-coil {acceleration}x"
            print(f"MRI {key} (achieved {masks.acceleration_of(mask):.2f}x)", flush=True)
            out[key] = {
                "achieved_acceleration": round(masks.acceleration_of(mask), 3),
                **run_methods(methods, (x_train, measure(x_train)), (x_test, measure(x_test))),
            }
    out["names"] = ["mri_slice", *test_images(size)[0]]
    return out


# -- deblurring -------------------------------------------------------------------------------


def deblur(args: argparse.Namespace) -> dict:
    size = args.size
    x_test = _grey_images(size)
    x_train = _grey_images(size, TRAIN_FOR_TUNING)
    kernels = {
        "gaussian (25×25, σ 1.6)": gaussian_kernel(25, 1.6),
        "motion (25×25, seeded)": random_motion_kernel(
            25, torch.Generator().manual_seed(args.seed)
        ),
    }
    its = args.iterations // 2
    out: dict = {
        "image_size": size,
        "boundary": "circular",
        "names": list(test_images(size)[0]),
        "method_iterations": {"tv-admm": its, "tv prox (dual)": 20},
    }
    for kname, k in kernels.items():
        A = Blur(k, (1, size, size))
        for level in (2.55, 7.65):
            sigma = level / 255
            g = torch.Generator().manual_seed(args.seed)
            methods = {
                "blurred input": (lambda y, w: y, None),
                # Wiener with a constant noise-to-signal ratio: (AᴴA + ρI)⁻¹ Aᴴy
                "wiener": (lambda y, w, A=A: A.solve_gram(A.H(y), w), _grid(3e-2)),
                "tv-admm": (
                    lambda y, w, A=A: ADMM(rho=20 * w, threshold=w, prox=TV(20)).run(
                        y, A, iterations=its
                    ),
                    _grid(3e-3),
                ),
            }
            key = f"{kname}, noise {level}/255"
            print(f"deblur {key}", flush=True)
            out[key] = run_methods(
                methods,
                (x_train, add_noise(A(x_train), sigma, g)),
                (x_test, add_noise(A(x_test), sigma, g)),
            )
    return out


# -- super-resolution -------------------------------------------------------------------------


def bicubic(y: torch.Tensor, s: int) -> torch.Tensor:
    """Bicubic interpolation on `Downsample`'s grid (low-resolution pixel i is high-resolution
    pixel s·i), border values repeated."""
    h, w = y.shape[-2:]
    rows = torch.arange(h * s, dtype=y.dtype) / s
    cols = torch.arange(w * s, dtype=y.dtype) / s
    gy = 2 * rows / max(h - 1, 1) - 1
    gx = 2 * cols / max(w - 1, 1) - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)
    grid = grid.expand(y.shape[0], -1, -1, -1)
    return F.grid_sample(y, grid, mode="bicubic", padding_mode="border", align_corners=True)


def sr(args: argparse.Namespace) -> dict:
    size = args.size
    x_test = _grey_images(size)
    x_train = _grey_images(size, TRAIN_FOR_TUNING)
    its = args.iterations // 3
    out: dict = {
        "image_size": size,
        "noise": 0,
        "names": list(test_images(size)[0]),
        "method_iterations": {"hqs-tv": its, "tv prox (dual)": 20},
    }
    for s, sigma in ((2, 0.8), (4, 1.6)):
        k = gaussian_kernel(4 * s + 3, sigma)
        A = Downsample(k, s, (1, size, size))
        methods = {
            "bicubic": (lambda y, w, s=s: bicubic(y, s).clamp(0, 1), None),
            "hqs-tv": (
                lambda y, w, A=A: HQS(growth=1.2, mu=20 * w, threshold=w, prox=TV(20)).run(
                    y, A, iterations=its
                ),
                _grid(3e-5),
            ),
        }
        key = f"x{s} (Gaussian blur σ {sigma})"
        print(f"SR {key}", flush=True)
        out[key] = run_methods(methods, (x_train, A(x_train)), (x_test, A(x_test)))
    return out


# -- operator speed ---------------------------------------------------------------------------


def _median_times(fns: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median seconds per call of each function, timed interleaved in a random order."""
    for f in fns.values():
        f()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for _ in range(reps):
        random.shuffle(order)
        for k in order:
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def speed(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    B, n = 8, args.size
    x = torch.rand(B, 1, n, n)
    out: dict = {"batch": B, "image": [n, n], "reps": args.reps}

    def pair(name: str, ours, naive, note: str) -> None:
        torch.testing.assert_close(ours(), naive(), rtol=1e-3, atol=1e-3)  # the same map
        t = _median_times({"ours": ours, "naive": naive}, args.reps)
        out[name] = {
            "ours_ms": round(1e3 * t["ours"], 3),
            "naive_ms": round(1e3 * t["naive"], 3),
            "speedup": round(t["naive"] / t["ours"], 2),
            "naive": note,
        }
        print(f"{name}: {out[name]}", flush=True)

    k = gaussian_kernel(25, 1.6)
    blur = Blur(k, (1, n, n))
    flipped = k.flip(0, 1)[None, None]  # conv2d correlates: flip for a convolution

    def direct(v: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        r = kernel.shape[-1] // 2
        return F.conv2d(F.pad(v, (r, r, r, r), mode="circular"), kernel)

    pair("blur 25×25", lambda: blur(x), lambda: direct(x, flipped), "direct circular conv2d")
    down = Downsample(k, 4, (1, n, n))
    pair(
        "downsample ×4 (blur 25×25)",
        lambda: down(x),
        lambda: direct(x, flipped)[..., ::4, ::4],
        "direct circular conv2d, then every 4th pixel",
    )
    z = torch.randn(B, n, n, dtype=torch.complex64)
    mask = masks.random_lines((n, n), 4, 0.08, generator=torch.Generator().manual_seed(0))
    mri_op = MRI(mask)
    j = torch.arange(n, dtype=torch.float64)
    dft = torch.exp(-2j * math.pi * (j[:, None] - n // 2) * (j[None, :] - n // 2) / n) / n**0.5
    dft = dft.to(torch.complex64)
    weights = mask.to(torch.float32)
    pair(
        "mri 4× (2-D FFT)",
        lambda: mri_op(z),
        lambda: weights * (dft @ z @ dft.T),
        "dense centred DFT matrices on rows and columns (the full 65536² matrix would be 32 GB)",
    )
    m = n // 2  # a dense matrix for the whole image would not fit: 128² at the default size
    xs = torch.rand(B, 1, m, m)
    g = torch.Generator().manual_seed(0)
    structured = StructuredCS((1, m, m), 0.25, generator=g)
    # the same operator as a dense matrix: its rows applied to the identity
    rows = structured.out_shape[0]
    dense = GaussianCS((1, m, m), structured.H(torch.eye(rows)).reshape(rows, -1).contiguous())
    pair(
        f"structured CS 25 % ({m}×{m})",
        lambda: structured(xs),
        lambda: dense(xs),
        f"the same operator as a dense {m * m // 4}×{m * m} matrix",
    )
    return out


# -- CG memory --------------------------------------------------------------------------------


def cg_memory(args: argparse.Namespace) -> dict:
    """Bytes autograd keeps for backward through a CG-SENSE solve with a learned damping λ:
    `cg_solve` (implicit) against CG unrolled step by step."""
    n = args.size
    A = SENSE(
        masks.random_lines((n, n), 4, 0.08, generator=torch.Generator().manual_seed(0)),
        coil_maps(8, (n, n)),
    )
    b = torch.randn(2, n, n, dtype=torch.complex64)
    lam = torch.tensor(0.05, requires_grad=True)

    def apply(v: torch.Tensor) -> torch.Tensor:
        return A.gram(v) + lam * v

    def saved(fn) -> int:
        """Bytes of the distinct storages autograd keeps (a constant saved by every step, the
        coil maps say, counts once)."""
        storages: dict[int, int] = {}

        def pack(t):
            s = t.untyped_storage()
            storages[s.data_ptr()] = s.nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = fn()
        out.abs().sum().backward()  # it must run
        return sum(storages.values())

    out: dict = {"image": [n, n], "coils": 8, "batch": 2, "cg_steps": {}}
    for k in (5, 10, 20, 40):
        out["cg_steps"][str(k)] = {
            "cg_solve_saved_mb": round(saved(lambda k=k: cg_solve(apply, b, k)) / 2**20, 2),
            "unrolled_cg_saved_mb": round(
                saved(lambda k=k: conjugate_gradient(apply, b, k)) / 2**20, 2
            ),
        }
        print(k, out["cg_steps"][str(k)], flush=True)
    vals = [v["cg_solve_saved_mb"] for v in out["cg_steps"].values()]
    out["cg_solve_constant"] = len(set(vals)) == 1
    return out


# -- tables -----------------------------------------------------------------------------------


def markdown(data: dict) -> str:
    rows: list[str] = []
    for part, title in (
        ("cs", "Block CS 33×33"),
        ("mri", "MRI"),
        ("mri_mni", "MRI, MNI152 brain slices"),
        ("deblur", "Deblurring"),
        ("sr", "Super-resolution"),
    ):
        d = data.get(part)
        if not d:
            continue
        settings = [k for k, v in d.items() if isinstance(v, dict) and k != "method_iterations"]
        methods: list[str] = []
        for k in settings:
            methods += [m for m, r in d[k].items() if isinstance(r, dict) and m not in methods]
        rows += [
            "",
            f"| {title} ({d['image_size']}², PSNR dB / SSIM) | " + " | ".join(methods) + " |",
            "| --- |" + " --- |" * len(methods),
        ]
        for k in settings:
            cells = []
            for m in methods:
                r = d[k].get(m)
                cells.append(
                    "" if not isinstance(r, dict) else f"{r['psnr']:.2f} / {r['ssim']:.3f}"
                )
            rows.append(f"| {k} | " + " | ".join(cells) + " |")
    sp = data.get("speed")
    if sp:
        rows += [
            "",
            f"| operator, batch {sp['batch']} | ours (ms) | naive (ms) | speed-up | naive formulation |",
            "| --- | --- | --- | --- | --- |",
        ]
        for k, r in sp.items():
            if isinstance(r, dict):
                rows.append(
                    f"| {k} | {r['ours_ms']:.2f} | {r['naive_ms']:.2f} | {r['speedup']:.1f}× | {r['naive']} |"
                )
    cm = data.get("cg_memory")
    if cm:
        its = list(cm["cg_steps"])
        rows += [
            "",
            f"| saved for backward (MB), SENSE {cm['image'][0]}², {cm['coils']} coils | "
            + " | ".join(f"{k} CG steps" for k in its)
            + " |",
            "| --- |" + " --- |" * len(its),
            "| `cg_solve` (implicit backward) | "
            + " | ".join(f"{cm['cg_steps'][k]['cg_solve_saved_mb']:.1f}" for k in its)
            + " |",
            "| CG unrolled step by step | "
            + " | ".join(f"{cm['cg_steps'][k]['unrolled_cg_saved_mb']:.1f}" for k in its)
            + " |",
        ]
    return "\n".join(rows).strip()


PARTS = {
    "cs": cs,
    "mri": mri,
    "mri-mni": mri_mni,
    "deblur": deblur,
    "sr": sr,
    "speed": speed,
    "cg-memory": cg_memory,
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=sorted(PARTS))
    parser.add_argument("--size", type=int, default=256, help="image side (CS: whole 33-blocks)")
    parser.add_argument(
        "--iterations", type=int, default=120, help="iterations of the iterative methods"
    )
    parser.add_argument("--reps", type=int, default=30, help="speed: timed repetitions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the README tables and exit")
    args = parser.parse_args(argv)
    if args.table:
        data = json.loads(args.out.read_text())
        print(markdown(data))
        return data
    if args.part is None:
        parser.error("--part is required (or --table)")
    t0 = time.perf_counter()
    result = PARTS[args.part](args)
    result["part_seconds"] = round(time.perf_counter() - t0, 1)
    result["default_iterations"] = args.iterations
    key = args.part.replace("-", "_")
    return merge_results(args.out, key, result)[key]


if __name__ == "__main__":
    main()
