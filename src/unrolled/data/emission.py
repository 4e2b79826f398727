"""`EmissionTomography`: 2-D emission tomography (PET, SPECT) with Poisson counts."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..algorithms import MLEM, OSEM, QuadraticMAP
from ..core import register
from ..core.checks import (
    choice,
    non_negative_int,
    non_negative_number,
    positive_int,
    positive_number,
)
from ..metrics import nrmse_metric, psnr_metric, ssim_metric
from ..ops import Radon, fbp
from .mni import SliceSampler, mni_slices
from .phantoms import random_ellipses
from .problem import Baseline, Problem, child_seeds, image_side

#: The activity maps: ``"ellipses"``, random ellipse phantoms; ``"mni"``, axial slices of the
#: MNI152 T1 template as activity (`unrolled.data.mni`: slice ranges split train, validation
#: and test).
ACTIVITY = ("ellipses", "mni")
#: The most iterations (sub-iterations for OSEM) the stopping point of MLEM and OSEM is tuned
#: over, on the validation set: run long, EM fits the noise, so where it stops regularises it.
MAX_ITERATIONS = 200
#: MAP-EM's prior weights, relative to the mean sensitivity ``mean(Aᵀ1)`` (so a grid point
#: means the same at any dose), tuned on the validation set.
MAP_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: MAP-EM's iterations (MLEM with De Pierro's M-step): near enough its fixed point that where
#: it stops matters little, unlike MLEM's.
MAP_ITERATIONS = 100


#: The validation images that set the dose (the operator's scale): a fixed number, so that the
#: problem is the same whatever `validation_size` is.
DOSE_IMAGES = 16


@register("emission-tomography", kind="problem")
class EmissionTomography(Problem):
    """Counts ``y ~ Poisson(A x + b)`` of a 2-D emission scan:

    - ``A = c·R``, ``R`` the parallel-beam `unrolled.ops.Radon` transform on ``angles`` angles
      and ``c`` set so that the validation activity maps emit ``counts`` expected counts each
      on average (the dose; an image with more activity gives more);
    - ``b`` a uniform background (randoms and scatter), ``background`` times the mean true
      counts per bin, carried by the operator (``A.background``, which `MLEM` reads);
    - ``x`` activity maps in [0, 1]: random ellipse phantoms (`random_ellipses`, a fresh batch
      every step) or MNI152 T1 slices as activity (``images="mni"``, split by slice range).

    Validation and test sets come from their own seeds, never trained on. Scored by NRMSE (%,
    ``100·‖x̂ − x‖/‖x‖``), PSNR (dB, data range 1) and SSIM beside it. Baselines on the test
    set (`baselines`): FBP (Hann) of the background-corrected counts; MLEM and OSEM at the
    iteration count of an unrolled network (``unrolled eval``'s per-layer table) and at the
    count the validation set found best (EM's early stop, its regularisation); MAP-EM with a
    quadratic smoothness prior (`QuadraticMAP`), its weight tuned on the validation set.

    Args:
        size: image side (pixels).
        angles: projection angles, uniform in [0, π).
        counts: the mean expected true counts per image (the dose), over the first
            `DOSE_IMAGES` validation images (16, whatever ``validation_size`` is).
        background: the background's share of the mean true counts per bin (≥ 0).
        subsets: OSEM's subsets of angles.
        images: ``"ellipses"`` or ``"mni"``.
        seed: seeds the training stream, the validation and the test images.
        validation_size, test_size: images in the fixed sets (MNI: at most the split's).

    Shapes: ``x`` ``(B, 1, size, size)``, ``y`` ``(B, 1, angles, detector)``; ``sample(batch)``,
    ``validation`` and ``test`` are ``(x, y)`` (one operator, `operator`, for all).
    """

    metric = nrmse_metric()
    extra_metrics = (psnr_metric(1.0), ssim_metric(1.0))

    def __init__(
        self,
        size: int = 64,
        angles: int = 60,
        counts: float = 1e5,
        background: float = 0.2,
        subsets: int = 6,
        images: str = "ellipses",
        seed: int = 0,
        validation_size: int = 16,
        test_size: int = 16,
    ) -> None:
        self.size = image_side(size, "size")
        self.counts = positive_number(counts, "counts")
        self.background = non_negative_number(background, "background")
        self.images = choice(images, "images", ACTIVITY)
        self.seed = non_negative_int(seed, "seed")
        radon = Radon((1, self.size, self.size), positive_int(angles, "angles"))
        self.subsets = positive_int(subsets, "subsets")
        if self.subsets > radon.theta.numel():
            raise ValueError(
                f"subsets: expected at most the {radon.theta.numel()} angles, got {subsets}"
            )
        train, val, test = child_seeds(self.seed, 3)
        validation_size = positive_int(validation_size, "validation_size")
        test_size = positive_int(test_size, "test_size")
        # each set's generator draws its phantoms, then its counts
        g_val, g_test = torch.Generator().manual_seed(val), torch.Generator().manual_seed(test)
        if self.images == "mni":
            self._slices: Any = SliceSampler("train", self.size, train)
            self.generator = self._slices.generator
            x_val = mni_slices("validation", self.size)[:, None]
            calibration = x_val[:DOSE_IMAGES]
            x_val = x_val[:validation_size]
            x_test = mni_slices("test", self.size)[:test_size, None]
        else:
            self.generator = torch.Generator().manual_seed(train)
            # the first DOSE_IMAGES validation phantoms are drawn alike whatever the set's size
            calibration = self._phantoms(DOSE_IMAGES, g_val)
            extra = validation_size - DOSE_IMAGES
            x_val = calibration[:validation_size]
            if extra > 0:
                x_val = torch.cat([x_val, self._phantoms(extra, g_val)])
            x_test = self._phantoms(test_size, g_test)
        # the dose: the calibration images' mean total projection scaled to `counts`, the same
        # operator whatever validation_size and test_size are
        scale = self.counts / float(radon(calibration).flatten(1).sum(1).mean())
        self.operator = scale * radon
        bins = radon.theta.numel() * radon.detector
        self.operator.background = self.background * self.counts / bins  # type: ignore[attr-defined]
        self.validation = self._measure(x_val, g_val)
        self.test = self._measure(x_test, g_test)

    @property
    def radon(self) -> Radon:
        """``R``, the unscaled Radon transform inside `operator` (``c·R``)."""
        return self.operator.A

    def _phantoms(self, batch: int, g: torch.Generator) -> Tensor:
        return random_ellipses(self.size, generator=g, batch=batch)[:, None]

    def expected_counts(self, x: Tensor) -> Tensor:
        """``A x + b``: the mean counts of activity maps ``x`` ``(B, 1, size, size)``."""
        return self.operator(x) + self.operator.background

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        return x, torch.poisson(self.expected_counts(x), generator=g)

    def realisations(self, x: Tensor, count: int, seed: int = 0) -> Tensor:
        """``count`` independent Poisson measurements of the same activity maps ``x``
        ``(B, 1, size, size)``: ``(count, B, 1, angles, detector)``, seeded (for bias and
        variance over noise realisations, `unrolled.metrics.bias_and_std`)."""
        count = positive_int(count, "count")
        g = torch.Generator().manual_seed(non_negative_int(seed, "seed"))
        mean = self.expected_counts(x)
        return torch.poisson(mean.expand(count, *mean.shape).contiguous(), generator=g)

    def sample(self, batch: int) -> tuple[Tensor, Tensor]:
        """``batch`` fresh activity maps, measured: ``(x, y)``."""
        batch = positive_int(batch, "batch")
        if self.images == "mni":
            x = self._slices.sample(batch)
        else:
            x = self._phantoms(batch, self.generator)
        return self._measure(x, self.generator)

    # -- classical reconstructions --------------------------------------------------------
    def fbp(self, y: Tensor) -> Tensor:
        """Filtered back-projection (Hann) of the background-corrected counts, in activity units."""
        A = self.operator
        return fbp((y - A.background) / A.c, self.radon, "hann")

    def best_iterations(self, algorithm: MLEM, images: int = 8) -> int:
        """The iteration count (at most `MAX_ITERATIONS`) at which ``algorithm`` scores best on
        the first ``images`` validation images."""
        x, y = (t[:images] for t in self.validation)
        trace = algorithm.run(y, self.operator, iterations=MAX_ITERATIONS, trace=True)[1]
        scores = [self.metric(t, x) for t in trace]
        return 1 + min(range(len(scores)), key=scores.__getitem__)

    def map_em(self, weight: float) -> MLEM:
        """MAP-EM (`QuadraticMAP`) at the relative prior weight ``weight`` (see `MAP_GRID`)."""
        sensitivity = float(self.operator.H(torch.ones(1, *self.operator.out_shape)).mean())
        return MLEM(mstep=QuadraticMAP(weight * sensitivity))

    def tuned_map_weight(self, images: int = 8) -> float:
        """The weight of `MAP_GRID` whose MAP-EM (`MAP_ITERATIONS`) scores best on the first
        ``images`` validation images."""
        x, y = (t[:images] for t in self.validation)
        scores = [
            self.metric(self.map_em(w).run(y, self.operator, MAP_ITERATIONS), x) for w in MAP_GRID
        ]
        return MAP_GRID[min(range(len(scores)), key=scores.__getitem__)]

    def baselines(self) -> dict[str, Baseline]:
        _, y = self.test
        A = self.operator
        osem = OSEM(subsets=self.subsets)

        def trace(algorithm: MLEM, iterations: int) -> Tensor:
            return algorithm.run(y, A, iterations=iterations, trace=True)[1]

        def stopped(algorithm: MLEM) -> Baseline:
            return lambda iterations: algorithm.run(y, A, self.best_iterations(algorithm))[None]

        return {
            "FBP (Hann)": lambda iterations: self.fbp(y)[None],
            "MLEM": lambda iterations: trace(MLEM(), iterations),
            f"OSEM ({self.subsets} subsets)": lambda iterations: trace(osem, iterations),
            "MLEM (tuned stop)": stopped(MLEM()),
            f"OSEM ({self.subsets} subsets, tuned stop)": stopped(osem),
            "MAP-EM (tuned)": lambda iterations: self.map_em(self.tuned_map_weight()).run(
                y, A, MAP_ITERATIONS
            )[None],
        }

    def describe(self) -> str:
        activity = "random ellipse phantoms" if self.images == "ellipses" else "MNI152 T1 slices"
        return (
            f"emission tomography {self.size}x{self.size}, {self.radon.theta.numel()} angles, "
            f"{self.counts:g} counts per image, {self.background:g} background: {activity} "
            f"(validation and test held out)"
        )

    def __repr__(self) -> str:
        return (
            f"EmissionTomography(size={self.size}, angles={self.radon.theta.numel()}, "
            f"counts={self.counts:g}, background={self.background:g}, images={self.images!r}, "
            f"seed={self.seed})"
        )


__all__ = ["ACTIVITY", "MAP_GRID", "MAP_ITERATIONS", "MAX_ITERATIONS", "EmissionTomography"]
