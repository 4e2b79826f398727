"""Imaging problems for `unrolled.train.fit`: image patches measured on the fly, each batch with
its own operator (per-sample kernels or masks), so ``sample`` returns ``(x, y, A)``.

Training patches come from the training images, the validation set from other training-image
patches (a separate seed), and ``test`` from the held-out test images: no test image is ever
seen in training or validation.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from ..core import register
from ..core.checks import choice, positive_int
from ..metrics import psnr_metric, ssim_metric
from ..ops import MRI, SENSE, BlockCS, Blur, Downsample, coil_maps, gaussian_kernel, masks
from . import classical
from .images import ImagePatches, center_crop, load_image, split_images
from .measurements import add_noise, noise_levels, random_kernels
from .mni import SliceSampler, mni_slices
from .phantoms import smooth_phase
from .problem import Baseline, Problem, child_seeds, image_side, tuned_weight

#: Where the images come from: ``"natural"``, the bundled photographs (`unrolled.data.images`,
#: patches of the training images, the held-out images whole); ``"mni"``, axial slices of the
#: MNI152 brain template (`unrolled.data.mni`: whole training slices, the validation and test
#: slices, split by slice range).
IMAGE_SETS = ("natural", "mni")
#: MRI's classical baselines' grids: TV weights, CG-SENSE's dampings (images in [0, 1], k-space
#: σ 0.002; they bracket what the classical benchmark tuned).
MRI_TV_GRID = (1e-3, 3e-3, 1e-2, 3e-2)
CG_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
#: The ridge weight of the linear baseline ``(AᴴA + ρI)⁻¹Aᴴy`` (zero-filling for single-coil MRI).
LINEAR_RIDGE = 0.01


class _Restoration(Problem):
    """Shared machinery: patches, seeded streams, fixed validation and test sets. Scored by
    PSNR (dB, data range 1; magnitudes for complex images), SSIM reported beside it; the
    baselines are the linear reconstruction ``(AᴴA + 0.01 I)⁻¹Aᴴy`` (zero-filling for MRI) and
    the task's classical methods (`classical`), their weights tuned on the validation set."""

    metric = psnr_metric(1.0)
    extra_metrics = (ssim_metric(1.0),)

    def __init__(
        self,
        size: int,
        seed: int,
        validation_size: int,
        grayscale: bool,
        images: str = "natural",
        test_size: int | None = None,
    ) -> None:
        self.size = image_side(size, "size")
        self.test_size = self.size if test_size is None else image_side(test_size, "test_size")
        for side, name in ((self.size, "size"), (self.test_size, "test_size")):
            self._check_size(side, name)
        self.seed = seed
        self.images = choice(images, "images", IMAGE_SETS)
        validation_size = positive_int(validation_size, "validation_size")
        train_seed, val_seed, test_seed = child_seeds(seed, 3)
        self.generator = torch.Generator().manual_seed(train_seed)
        if images == "mni":
            if not grayscale:
                raise ValueError("images: the MNI slices are grey; ask for grayscale=True")
            self._patches: Any = SliceSampler("train", size)
            x_val = mni_slices("validation", size)[:validation_size, None]
            x_test = mni_slices("test", self.test_size)[:, None]
        else:
            self._patches = ImagePatches("train", size, grayscale=grayscale)
            val_patches = ImagePatches("train", size, grayscale=grayscale, seed=val_seed)
            x_val = val_patches.sample(validation_size)
            names = split_images("test", grayscale)
            x_test = torch.stack(
                [center_crop(load_image(n, grayscale), self.test_size) for n in names]
            )
        self._patches.generator = self.generator  # one stream: an exact resume restores it
        self.validation = self._measure(x_val, torch.Generator().manual_seed(val_seed))
        self.test = self._measure(x_test, torch.Generator().manual_seed(test_seed))

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor, Any]:
        raise NotImplementedError

    def _check_size(self, side: int, name: str) -> None:
        """Raise unless images of side ``side`` (argument ``name``) suit the task."""

    def _test_repr(self) -> str:
        return f", test_size={self.test_size}" if self.test_size != self.size else ""

    def sample(self, batch: int) -> tuple[Tensor, Tensor, Any]:
        """``batch`` fresh training patches, measured: ``(x, y, A)``."""
        return self._measure(self._patches.sample(positive_int(batch, "batch")), self.generator)

    @property
    def operator(self) -> Any:
        """An operator of the task (the validation set's): what a model sizes itself from."""
        return self.validation[2]

    def classical(self) -> dict[str, tuple[classical.Method, tuple[float, ...]]]:
        """The classical methods `baselines` runs, by name: ``(method, weights tried)``."""
        return {}

    def tuned_weights(self) -> dict[str, float]:
        """The weight of each `classical` method that reconstructs the validation set best
        (the problem's metric); tuned once per problem."""
        if "_tuned" not in self.__dict__:
            x, y, A = self.validation
            self._tuned = {
                name: tuned_weight(lambda w, run=run: run(y, A, w), x, weights, self.metric)
                for name, (run, weights) in self.classical().items()
            }
        return dict(self._tuned)

    def _linear(self) -> tuple[str, Baseline]:
        _, y, A = self.test
        return f"linear (ridge {LINEAR_RIDGE:g})", lambda iterations: A.solve_gram(
            A.H(y), LINEAR_RIDGE
        )[None]

    def baselines(self) -> dict[str, Baseline]:
        """A linear reconstruction, then each `classical` method at its weight tuned on the
        validation set (`tuned_weights`)."""
        _, y, A = self.test
        name, linear = self._linear()
        out: dict[str, Baseline] = {name: linear}
        for method, (run, _) in self.classical().items():
            out[method] = lambda iterations, run=run, method=method: run(
                y, A, self.tuned_weights()[method]
            )[None]
        return out

    def describe(self) -> str:
        if self.images == "mni":
            return f"{self!r}: MNI152 T1 axial slices (train, validation and test by slice range)"
        return f"{self!r}: patches of the training images, the held-out images to test"


@register("deblurring", kind="problem")
class Deblurring(_Restoration):
    """Deblurring: ``y = k_i ⊛ x_i + σ_i n``, a random kernel and noise level per sample.

    Args:
        size: patch side in pixels.
        kernel: ``"motion"`` (random camera shake) or ``"gaussian"`` (σ drawn in [0.7, 3]).
        kernel_size: the kernels' side.
        noise: ``(low, high)``: σ drawn uniformly per sample (images in [0, 1]; DPIR-style
            training covers a range), or one number.
        grayscale: grey or colour patches.
        seed: seeds the training stream, the validation and the test measurements.
        validation_size: fixed validation samples (training-image patches).
        test_size: the side of the test images (the held-out images centre-cropped, or the
            test slices resized); default ``size``. A fully convolutional model trained on
            patches is tested on larger images, as the papers test on whole images.

    ``sample(batch)``, ``validation`` and ``test`` are ``(x, y, A)``: ``x`` and ``y``
    ``(B, C, size, size)`` (``test_size`` for the test set), ``A`` a `unrolled.ops.Blur` with
    one kernel per sample.
    """

    def __init__(
        self,
        size: int = 64,
        kernel: str = "motion",
        kernel_size: int = 15,
        noise: float | tuple[float, float] = (0.0, 0.03),
        grayscale: bool = True,
        seed: int = 0,
        validation_size: int = 32,
        test_size: int | None = None,
    ) -> None:
        if kernel not in ("motion", "gaussian"):
            raise ValueError(f"kernel: expected 'motion' or 'gaussian', got {kernel!r}")
        self.kernel, self.kernel_size = kernel, positive_int(kernel_size, "kernel_size")
        self.noise = _noise_range(noise)
        self.channels = 1 if grayscale else 3
        super().__init__(size, seed, validation_size, grayscale, test_size=test_size)

    def _check_size(self, side: int, name: str) -> None:
        if self.kernel_size > side:
            raise ValueError(
                f"kernel_size: expected at most {name} ({side}), got {self.kernel_size}"
            )

    def classical(self) -> dict[str, tuple[classical.Method, tuple[float, ...]]]:
        """The Wiener filter and TV-ADMM."""
        return {
            "Wiener (tuned)": (classical.wiener, classical.grid(3e-2)),
            "TV-ADMM (tuned)": (classical.tv_admm, classical.grid(3e-3)),
        }

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor, Blur]:
        B = x.shape[0]
        k = random_kernels(B, self.kernel_size, self.kernel, generator=g, dtype=x.dtype)
        A = Blur(k, tuple(x.shape[1:]))
        sigma = noise_levels(B, *self.noise, generator=g).to(x.dtype)
        return x, add_noise(A(x), sigma, g), A

    def __repr__(self) -> str:
        return (
            f"Deblurring(size={self.size}, kernel={self.kernel!r}, kernel_size={self.kernel_size}, "
            f"noise={self.noise}, seed={self.seed}{self._test_repr()})"
        )


@register("mri-reconstruction", kind="problem")
class MRIReconstruction(_Restoration):
    """Cartesian MRI: grey patches given a smooth random phase (complex images), k-space
    sampled by a random-lines mask per sample, single-coil (`unrolled.ops.MRI`) or with
    synthetic coil maps (`unrolled.ops.SENSE`), plus complex noise on the samples taken.

    Args:
        size: image side.
        acceleration: the masks' acceleration (`unrolled.ops.masks.random_lines`).
        center_fraction: their fully sampled centre.
        coils: 1 (single-coil) or more (SENSE, maps from `unrolled.ops.coil_maps`).
        noise: k-space noise σ.
        seed, validation_size, test_size: as `Deblurring`.
        images: ``"natural"`` (patches of the bundled photographs; the held-out photographs
            centre-cropped to test) or ``"mni"`` (whole axial slices of the MNI152 T1 brain
            template at ``size``: training, validation and test slices from disjoint slice
            ranges, `unrolled.data.mni`).

    ``sample(batch)``, ``validation`` and ``test`` are ``(x, y, A)``: ``x`` ``(B, size, size)``
    complex, ``y`` k-space, ``A`` the operator with one mask per sample.
    """

    def __init__(
        self,
        size: int = 64,
        acceleration: float = 4,
        center_fraction: float = 0.08,
        coils: int = 1,
        noise: float = 0.002,
        seed: int = 0,
        validation_size: int = 32,
        images: str = "natural",
        test_size: int | None = None,
    ) -> None:
        self.acceleration, self.center_fraction = acceleration, center_fraction
        self.coils = positive_int(coils, "coils")
        if not isinstance(noise, numbers.Real) or noise < 0:
            raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
        self.noise = float(noise)
        side = image_side(size, "size")
        masks.random_lines((side, side), acceleration, center_fraction)  # checks the arguments
        self._maps: dict[int, Tensor] = {}
        super().__init__(
            size, seed, validation_size, grayscale=True, images=images, test_size=test_size
        )

    def maps(self, n: int) -> Tensor | None:
        """The coil maps ``(coils, n, n)`` for images of side ``n`` (None single-coil)."""
        if self.coils == 1:
            return None
        if n not in self._maps:
            self._maps[n] = coil_maps(self.coils, (n, n))
        return self._maps[n]

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor, Any]:
        B, n = x.shape[0], x.shape[-1]
        phase = torch.stack([smooth_phase((n, n), generator=g) for _ in range(B)])
        image = x[:, 0].to(torch.complex64) * phase
        mask = masks.random_lines(
            (n, n), self.acceleration, self.center_fraction, generator=g, batch=B
        )
        maps = self.maps(n)
        A = MRI(mask) if maps is None else SENSE(mask, maps)
        y = add_noise(A(image), self.noise, g) * A.weights  # noise where k-space was sampled
        return image, y, A

    def classical(self) -> dict[str, tuple[classical.Method, tuple[float, ...]]]:
        """CG-SENSE with coils and TV-PDHG."""
        out = {"CG-SENSE (tuned)": (classical.cg_sense, CG_GRID)} if self.coils > 1 else {}
        return {**out, "TV-PDHG (tuned)": (classical.tv_pdhg, MRI_TV_GRID)}

    def _linear(self) -> tuple[str, Baseline]:
        _, y, A = self.test
        return "zero-filled", lambda iterations: A.H(y)[None]

    def __repr__(self) -> str:
        return (
            f"MRIReconstruction(size={self.size}, acceleration={self.acceleration}, "
            f"coils={self.coils}, noise={self.noise}, seed={self.seed}"
            + (f", images={self.images!r}" if self.images != "natural" else "")
            + f"{self._test_repr()})"
        )


@register("compressive-imaging", kind="problem")
class CompressiveImaging(_Restoration):
    """Block compressed sensing of grey patches (ISTA-Net's task): one fixed `BlockCS` matrix
    (33×33 blocks, orthonormal rows, drawn from ``matrix_seed``) for every sample, no noise.

    Args:
        size: patch side, a multiple of ``block``.
        ratio: measurements per pixel (0.25, 0.5, …).
        block: the block side.
        matrix_seed: seeds Φ (the same Φ at any image size).
        seed, validation_size: as `Deblurring`.
        test_size: as `Deblurring`, a multiple of ``block``: train on single blocks, as
            ISTA-Net does, and test on whole images (``test_size=264``).

    ``sample(batch)``, ``validation`` and ``test`` are ``(x, y, A)``, ``x`` ``(B, 1, size,
    size)`` (``test_size`` for the test set), ``A`` the shared `BlockCS` (the same Φ on the
    test images' blocks).
    """

    def __init__(
        self,
        size: int = 99,
        ratio: float = 0.25,
        block: int = 33,
        matrix_seed: int = 0,
        seed: int = 0,
        validation_size: int = 32,
        test_size: int | None = None,
    ) -> None:
        self.ratio, self.block, self.matrix_seed = ratio, block, matrix_seed
        self.A = self.blocks((1, size, size))
        super().__init__(size, seed, validation_size, grayscale=True, test_size=test_size)

    def blocks(self, shape: tuple[int, ...]) -> BlockCS:
        """The task's operator for images of ``shape``: the same Φ on every block."""
        g = torch.Generator().manual_seed(self.matrix_seed)
        return BlockCS(shape, self.block, ratio=self.ratio, generator=g)

    def classical(self) -> dict[str, tuple[classical.Method, tuple[float, ...]]]:
        """TV-FISTA."""
        return {"TV-FISTA (tuned)": (classical.tv_fista, classical.grid(1e-2))}

    def _check_size(self, side: int, name: str) -> None:
        if side % self.block:
            raise ValueError(f"{name}: expected a multiple of block ({self.block}), got {side}")

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor, BlockCS]:
        A = self.A if x.shape[-1] == self.size else self.blocks(tuple(x.shape[1:]))
        return x, A(x), A

    def __repr__(self) -> str:
        return (
            f"CompressiveImaging(size={self.size}, ratio={self.ratio}, block={self.block}"
            f"{self._test_repr()})"
        )


@register("super-resolution", kind="problem")
class SuperResolution(_Restoration):
    """Super-resolution ``y = (k_i ⊛ x_i)↓s + σ_i n``: a Gaussian kernel per sample (standard
    deviation drawn in ``kernel_sigma``·s, the range around USRNet's isotropic kernels), scale
    ``s``, noise σ_i drawn per sample.

    Args:
        size: high-resolution patch side, a multiple of ``scale``.
        scale: s.
        kernel_sigma: ``(low, high)``, the kernel's standard deviation over s.
        noise: a level or a range ``(low, high)``.
        seed, validation_size: as `Deblurring`.
        test_size: as `Deblurring`, a multiple of ``scale``.

    ``sample(batch)``, ``validation`` and ``test`` are ``(x, y, A)``: ``x`` ``(B, 1, size,
    size)``, ``y`` ``(B, 1, size/s, size/s)``, ``A`` a `Downsample` with one kernel per sample.
    """

    def __init__(
        self,
        size: int = 64,
        scale: int = 2,
        kernel_sigma: tuple[float, float] = (0.3, 0.6),
        noise: float | tuple[float, float] = (0.0, 0.01),
        seed: int = 0,
        validation_size: int = 32,
        test_size: int | None = None,
    ) -> None:
        self.scale = positive_int(scale, "scale")
        lo, hi = kernel_sigma
        if not 0 < lo <= hi:
            raise ValueError(f"kernel_sigma: expected 0 < low <= high, got {kernel_sigma!r}")
        self.kernel_sigma = (float(lo), float(hi))
        self.noise = _noise_range(noise)
        super().__init__(size, seed, validation_size, grayscale=True, test_size=test_size)

    def _check_size(self, side: int, name: str) -> None:
        if side % self.scale:
            raise ValueError(f"{name}: expected a multiple of scale {self.scale}, got {side}")

    def classical(self) -> dict[str, tuple[classical.Method, tuple[float, ...]]]:
        """TV by half-quadratic splitting."""
        return {"HQS-TV (tuned)": (classical.hqs_tv, classical.grid(3e-3))}

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor, Downsample]:
        B, s = x.shape[0], self.scale
        lo, hi = self.kernel_sigma
        widths = s * (lo + (hi - lo) * torch.rand(B, generator=g, dtype=torch.float64))
        k = torch.stack([gaussian_kernel(4 * s + 3, float(w), dtype=x.dtype) for w in widths])
        A = Downsample(k, s, tuple(x.shape[1:]))
        sigma = noise_levels(B, *self.noise, generator=g).to(x.dtype)
        return x, add_noise(A(x), sigma, g), A

    def __repr__(self) -> str:
        return (
            f"SuperResolution(size={self.size}, scale={self.scale}, noise={self.noise}"
            f"{self._test_repr()})"
        )


def _noise_range(noise: Any) -> tuple[float, float]:
    low_high = (noise, noise) if isinstance(noise, numbers.Real) else tuple(noise)
    if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1]:
        raise ValueError(f"noise: expected a level >= 0 or a range (low, high), got {noise!r}")
    return float(low_high[0]), float(low_high[1])


__all__ = ["CompressiveImaging", "Deblurring", "MRIReconstruction", "SuperResolution"]
