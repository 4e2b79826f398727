"""USRNet-style unrolled half-quadratic splitting for deblurring and super-resolution (Zhang,
Van Gool & Timofte 2020): closed-form FFT data steps, a noise-level-conditioned denoiser, and
hyper-parameters predicted from the noise level and the scale factor."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ..core import Algorithm, Layer, Slot, register, unroll
from ..core.checks import positive_int
from ..data.measurements import estimate_noise_level
from ..nn import UNet
from ..nn._common import as_image
from ..priors import TV, Denoiser
from ._common import annealed_recipe
from ._imaging import check_real, image_channels

#: DPIR's schedule (Zhang et al. 2021): the prior's noise level falls geometrically from 49/255
#: to the measurement noise, the penalty is μ_k = λ σ²/σ_k² with λ = 0.23.
SIGMA_START, LAMBDA = 49 / 255, 0.23
#: The smallest noise level the schedule assumes (noise-free data still needs μ_k > 0).
SIGMA_FLOOR = 0.5 / 255


class DPIRSchedule(nn.Module):
    """Hyper-parameters of HQS iteration k per sample: ``(μ_k, σ_k)``, each ``(B,)``, from the
    features ``(σ, s)`` (noise level, scale factor) of each sample:

        σ_k = σ_start^(1 − k/(K−1)) · σ^(k/(K−1)),      μ_k = λ σ² / σ_k²

    the plug-and-play schedule of DPIR (Zhang et al. 2021); iterations past K − 1 keep the last
    values.

    Args:
        layers: K, the length of the schedule.
    """

    def __init__(self, layers: int = 8) -> None:
        super().__init__()
        self.layers = positive_int(layers, "layers")

    def base(self, features: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        """The DPIR values ``(log μ_k, log σ_k)``, each ``(B,)``."""
        log_noise = features[:, 0].clamp_min(SIGMA_FLOOR).log()
        t = min(layer, self.layers - 1) / max(self.layers - 1, 1)
        log_sigma = (1 - t) * math.log(SIGMA_START) + t * log_noise
        log_mu = math.log(LAMBDA) + 2 * log_noise - 2 * log_sigma
        return log_mu, log_sigma

    def forward(self, features: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        log_mu, log_sigma = self.base(features, layer)
        return log_mu.exp(), log_sigma.exp()


class HyperNetwork(DPIRSchedule):
    """USRNet's hyper-parameter module: an MLP from ``(σ·255/50, s/4)`` to corrections of the
    log hyper-parameters of all K iterations, ``(μ_k, σ_k) = DPIR_k · exp(MLP(σ, s)_k)``. The
    last layer starts at zero, so the untrained network follows `DPIRSchedule` exactly (USRNet
    learns the values from scratch).

    Args:
        layers: K.
        hidden: width of the two hidden layers (USRNet: 64).
    """

    def __init__(self, layers: int = 8, hidden: int = 64) -> None:
        super().__init__(layers)
        hidden = positive_int(hidden, "hidden")
        last = nn.Linear(hidden, 2 * self.layers)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.mlp = nn.Sequential(
            nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), last
        )

    def forward(self, features: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        log_mu, log_sigma = self.base(features, layer)
        scaled = features / features.new_tensor([50 / 255, 4.0])
        k = min(layer, self.layers - 1)
        correction = self.mlp(scaled).view(-1, self.layers, 2)[:, k]
        return (log_mu + correction[:, 0]).exp(), (log_sigma + correction[:, 1]).exp()


class ConditionedUNet(nn.Module):
    """A noise-level-conditioned denoiser: a `UNet` on ``[x, σ map]`` predicting a residual,
    ``x + UNet([x, σ])[:C]`` (USRNet's ResUNet and DPIR's DRUNet take the noise map as an extra
    input channel the same way). The U-Net's last convolution starts at zero: the untrained
    denoiser is the identity.

    Shapes: ``x`` ``(B, C, H, W)`` or ``(B, H, W)``; ``sigma`` a number or ``(B,)``.
    """

    def __init__(self, channels: int = 1, width: int = 32, pools: int = 3) -> None:
        super().__init__()
        self.channels = positive_int(channels, "channels")
        self.unet = UNet(self.channels + 1, width, pools)
        nn.init.zeros_(self.unet.out.weight)  # an untrained prior is the identity
        nn.init.zeros_(self.unet.out.bias)

    def forward(self, x: Tensor, sigma: float | Tensor) -> Tensor:
        image = as_image(x, self.channels)
        level = torch.as_tensor(sigma, dtype=image.dtype, device=image.device)
        level = level.reshape(-1, 1, 1, 1).expand(image.shape[0], 1, *image.shape[-2:])
        out = self.unet(torch.cat([image, level], dim=1))[:, : self.channels]
        return (image + out).reshape(x.shape)


class USRNetState(NamedTuple):
    z: Tensor  # (B, *in_shape) the estimate (the prior step's output)
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once
    features: Tensor  # (B, 2) the noise level σ̂ and the scale factor s of each sample


class USRNetIteration(Algorithm):
    """Half-quadratic splitting with per-sample hyper-parameters (Zhang et al. 2020, Eqs. 6–7):

        (μ_k, σ_k) = H(σ̂, s)_k                          (`DPIRSchedule` or a `HyperNetwork`)
        x_k = (AᴴA + μ_k I)⁻¹ (Aᴴy + μ_k z_{k−1})        (closed form: `Blur`, `Downsample`)
        z_k = prior(x_k, σ_k²),                         z_0 = Aᴴy

    σ̂ is estimated from ``y`` (`unrolled.data.estimate_noise_level`); ``s`` is the operator's
    ``factor`` (1 without one). With the defaults (DPIR's schedule, a TV prox) it is classical
    plug-and-play HQS with TV.

    Slots: ``prior(v, tau)`` (a prox at τ = σ_k²; `unrolled.priors.Denoiser` around a
    conditioned network), ``hyper(features, k) -> (μ_k, σ_k)``.
    """

    prior = Slot(TV(20), doc="prior(v, tau) -> x, a prox at tau = σ_k²")
    hyper = Slot(DPIRSchedule(8), doc="hyper(features, k) -> (mu_k, sigma_k), each (B,)")

    def init(self, y: Tensor, A: Any) -> USRNetState:
        Aty = A.H(y)
        noise = estimate_noise_level(y).to(Aty.dtype)
        scale = torch.full_like(noise, float(getattr(A, "factor", 1)))
        return USRNetState(Aty, Aty, torch.stack([noise, scale], dim=1))

    def update(self, state: USRNetState, y: Tensor, A: Any, p: Layer) -> USRNetState:
        z, Aty, features = state
        mu, sigma = p.hyper(features, p.layer)
        mu = mu.view(-1, *[1] * (z.ndim - 1))
        x = A.solve_gram(Aty + mu * z, mu)
        return USRNetState(p.prior(x, sigma.square().view_as(mu)), Aty, features)

    def output(self, state: USRNetState) -> Tensor:
        return state.z


#: The recipe (`unrolled.Recipe`): Zhang et al.'s rate 1e-3, end-to-end; annealing, batches of 8 and the linear NMSE measured here.
RECIPE = annealed_recipe(
    loss="nmse",
    lr=0.001,
    batch_size=8,
    notes="Zhang et al.'s rate 1e-3, end-to-end; annealing, batches of 8 and the linear NMSE measured here.",
)


@register("usrnet", recipe=RECIPE)
def usrnet(
    operator: Any = None,
    layers: int = 8,
    width: int = 64,
    pools: int = 3,
    hidden: int = 64,
    backprop: str = "full",
) -> Any:
    """USRNet-style unrolled HQS (Zhang, Van Gool & Timofte 2020, "Deep unfolding network for
    image super-resolution"): a `USRNetIteration` with one `ConditionedUNet` prior shared by the
    K iterations and a `HyperNetwork` predicting ``(μ_k, σ_k)`` from the noise level and the
    scale; the data step is the operator's closed form (`unrolled.ops.Blur`: FFT;
    `unrolled.ops.Downsample`: Zhao et al.'s formula). One network serves every kernel, noise
    level and scale factor it was trained on. The paper: 8 iterations, a 4-scale ResUNet
    (64–512 features).

    Departures from the paper: the prior is a U-Net (``width``, ``pools``) rather than a
    ResUNet; the noise level is estimated from ``y`` instead of given; the hyper-parameters start
    from DPIR's schedule instead of at random; the first data step starts from ``z_0 = Aᴴy``,
    not a bicubic upsampling.

    Args:
        operator: the forward model, real images (deblurring: `Blur`; super-resolution:
            `Downsample`).
        layers: iterations K.
        width, pools: the prior's U-Net.
        hidden: the hyper-network's width.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    channels, is_complex = image_channels(operator, "usrnet")
    check_real(is_complex, "usrnet")
    return unroll(
        USRNetIteration(hyper=DPIRSchedule(layers)),
        layers,
        replace={
            "prior": Denoiser(ConditionedUNet(channels, width, pools), conditioned=True),
            "hyper": HyperNetwork(layers, hidden),
        },
        operator=operator,
        backprop=backprop,
    )


__all__ = [
    "ConditionedUNet",
    "DPIRSchedule",
    "HyperNetwork",
    "USRNetIteration",
    "usrnet",
]
