"""`CTReconstruction`: low-dose, sparse-view parallel-beam CT of ellipse phantoms (the setting
of learned primal-dual, Adler & Öktem 2018)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..algorithms import FISTA
from ..core import register
from ..core.checks import non_negative_int, positive_int, positive_number
from ..metrics import psnr_metric, ssim_metric
from ..ops import Radon, fbp
from ..priors import TV
from .phantoms import random_ellipses, shepp_logan
from .problem import Baseline, Problem, child_seeds, image_side, tuned_weight

#: The TV weights `CTReconstruction.baselines` tunes TV-FISTA over, on validation phantoms.
TV_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
#: TV-FISTA's iterations (and those of its tuning): Beck & Teboulle's accelerated scheme with an
#: inexact TV prox (20 dual iterations), near its fixed point on these problems.
TV_ITERATIONS = 100


@register("ct-reconstruction", kind="problem")
class CTReconstruction(Problem):
    """``y = A x + e``, ``A`` the parallel-beam `unrolled.ops.Radon` transform on ``angles``
    angles (sparse view), ``x`` random ellipse phantoms in [0, 1] (`random_ellipses`; a fresh
    batch every step), and low-dose noise:

    - ``noise="gaussian"`` (Adler & Öktem 2018's ellipse experiment): white Gaussian noise of
      standard deviation ``level`` times the mean absolute value of the noiseless sinogram
      (default 5 %);
    - ``noise="poisson"``: transmission counts ``N ~ Poisson(photons · exp(−μ A x))`` with ``μ``
      scaling the longest ray to an attenuation of ``attenuation`` (default 2), measured as the
      line integrals ``y = −log(max(N, 1) / photons) / μ``; ``photons`` per detector bin
      (default 10⁴: low dose).

    Validation phantoms and test phantoms come from their own seeds (never trained on); the test
    set starts with the Shepp–Logan phantom. Scored by PSNR (dB, data range 1), SSIM beside it;
    baselines filtered back-projection (ramp and Hann) and TV-FISTA with its weight tuned on the
    validation phantoms.

    Args:
        size: image side (pixels).
        angles: projection angles, uniform in [0, π).
        noise: ``"gaussian"`` or ``"poisson"``.
        level: the Gaussian noise's relative standard deviation.
        photons: the Poisson noise's incident photons per bin.
        attenuation: the Poisson model's largest line attenuation.
        seed: seeds the training stream, the validation and the test phantoms.
        validation_size, test_size: phantoms in the fixed sets.

    Shapes: ``x`` ``(B, 1, size, size)``, ``y`` ``(B, 1, angles, detector)``; ``sample(batch)``,
    ``validation`` and ``test`` are ``(x, y)`` (one operator, `operator`, for all).
    """

    metric = psnr_metric(1.0)
    extra_metrics = (ssim_metric(1.0),)

    def __init__(
        self,
        size: int = 128,
        angles: int = 30,
        noise: str = "gaussian",
        level: float = 0.05,
        photons: float = 1e4,
        attenuation: float = 2.0,
        seed: int = 0,
        validation_size: int = 16,
        test_size: int = 16,
    ) -> None:
        self.size = image_side(size, "size")
        if noise not in ("gaussian", "poisson"):
            raise ValueError(f"noise: expected 'gaussian' or 'poisson', got {noise!r}")
        self.noise = noise
        self.level = positive_number(level, "level")
        self.photons = positive_number(photons, "photons")
        self.attenuation = positive_number(attenuation, "attenuation")
        self.seed = non_negative_int(seed, "seed")
        self.operator = Radon((1, self.size, self.size), positive_int(angles, "angles"))
        # μ: the longest ray through a phantom of ones, scaled to `attenuation`
        self._mu = self.attenuation / float(self.operator(torch.ones(1, 1, size, size)).max())
        train, val, test = child_seeds(self.seed, 3)
        # phantoms are drawn ellipse by ellipse on the host: batches are copied to the device
        self.generator = torch.Generator().manual_seed(train)
        g = torch.Generator().manual_seed(val)
        self.validation = self._measure(
            self._phantoms(positive_int(validation_size, "validation_size"), g), g
        )
        g = torch.Generator().manual_seed(test)
        count = positive_int(test_size, "test_size")
        x = torch.cat([shepp_logan(size)[None, None], self._phantoms(count - 1, g)])
        self.test = self._measure(x, g)

    def _phantoms(self, batch: int, g: torch.Generator) -> Tensor:
        if batch == 0:
            return torch.empty(0, 1, self.size, self.size)
        return random_ellipses(self.size, generator=g, batch=batch)[:, None]

    def _measure(self, x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        clean = self.operator(x)
        kw = {"generator": g, "dtype": clean.dtype}
        if self.noise == "gaussian":
            scale = self.level * clean.abs().flatten(1).mean(1)
            return x, clean + scale.view(-1, 1, 1, 1) * torch.randn(clean.shape, **kw)
        expected = self.photons * torch.exp(-self._mu * clean)
        counts = torch.poisson(expected, generator=g).clamp_min(1.0)
        return x, -torch.log(counts / self.photons) / self._mu

    def sample(self, batch: int) -> tuple[Tensor, Tensor]:
        """``batch`` fresh phantoms, measured: ``(x, y)``."""
        g = self.generator
        return self._measure(self._phantoms(positive_int(batch, "batch"), g), g)

    def tuned_tv_weight(self, images: int = 4) -> float:
        """The TV weight of `TV_GRID` whose TV-FISTA (`TV_ITERATIONS`) reconstructs the first
        ``images`` validation phantoms best (PSNR)."""
        x, y = (t[:images] for t in self.validation)
        run = lambda lam: self._tv(lam).run(y, self.operator, iterations=TV_ITERATIONS)  # noqa: E731
        return tuned_weight(run, x, TV_GRID, self.metric)

    @staticmethod
    def _tv(lam: float) -> FISTA:
        return FISTA(threshold=lam, prox=TV(iterations=20))

    def baselines(self) -> dict[str, Baseline]:
        _, y = self.test
        A = self.operator

        def tv(iterations: int) -> Tensor:
            lam = self.tuned_tv_weight()
            return self._tv(lam).run(y, A, iterations=max(iterations, TV_ITERATIONS))[None]

        return {
            "FBP (ramp)": lambda iterations: fbp(y, A, "ramp")[None],
            "FBP (Hann)": lambda iterations: fbp(y, A, "hann")[None],
            "TV-FISTA (tuned)": tv,
        }

    def describe(self) -> str:
        noise = (
            f"{self.level:g} relative Gaussian noise"
            if self.noise == "gaussian"
            else f"Poisson noise, {self.photons:g} photons per bin"
        )
        return (
            f"parallel-beam CT {self.size}x{self.size}, {self.operator.theta.numel()} angles, "
            f"{noise}: random ellipse phantoms (test: Shepp-Logan and held-out phantoms)"
        )

    def __repr__(self) -> str:
        return (
            f"CTReconstruction(size={self.size}, angles={self.operator.theta.numel()}, "
            f"noise={self.noise!r}, seed={self.seed})"
        )


__all__ = ["TV_GRID", "TV_ITERATIONS", "CTReconstruction"]
