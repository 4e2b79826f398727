"""MMNet, i.i.d. variant (Khani, Alizadeh, Hoydis & Fleming 2020, "Adaptive neural signal
detection for massive MIMO"): matched-filter steps and a constellation denoiser whose noise
level is estimated each layer, with two learned scalars per layer."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..algorithms.oamp import constellation_of, noise_var_of, posterior
from ..comms import Constellation
from ..core import Algorithm, Layer, Param, register
from ._common import annealed_recipe
from .oamp_net import unrolled_detector


class MMNetState(NamedTuple):
    x: Tensor  # (B, n) the soft estimate
    HhH: Tensor  # (B, n, n) HᴴH, computed once
    power: Tensor  # (B,) ‖H‖_F², computed once


class MMNetIteration(Algorithm):
    """The i.i.d. MMNet iteration, for ``y = Hx + n`` with a square constellation:

        z_t     = x̂_t + θ¹_t Hᴴ(y − Hx̂_t)
        v_t²    = max(‖y − Hx̂_t‖² − m σ², 0) / ‖H‖_F²              (error variance of x̂_t)
        σ_t²    = θ²_t (‖I − θ¹_t HᴴH‖_F² v_t² + (θ¹_t)² ‖H‖_F² σ²) / n
        x̂_{t+1} = E[x | z_t, σ_t²],   x̂_0 = 0

    the same noise-level estimate as OAMP's (`unrolled.algorithms.OAMP`) with the matched
    filter θ¹Hᴴ in place of the LMMSE matrix, so a layer costs products, not a solve.
    Defaults: θ¹ = 1/L, θ² = 1.

    Args:
        constellation: a `Constellation` or its name.

    Shapes: ``y`` ``(B, m)``, ``H`` ``(B, m, n)``, ``x`` ``(B, n)``; ``A`` a
    `unrolled.comms.Channel`.
    """

    step = Param("1/L", doc="θ¹, the matched-filter step")
    scale = Param(1.0, positive=True, doc="θ², the scale of the noise-level estimate")

    def __init__(self, constellation: Constellation | str = "qpsk", **overrides: Any) -> None:
        super().__init__(**overrides)
        self.constellation = constellation_of(constellation)

    def init(self, y: Tensor, A: Any) -> MMNetState:
        noise_var_of(A, "MMNet")
        H = A.M
        x = y.new_zeros(y.shape[0], H.shape[-1])
        return MMNetState(x, H.mH @ H, H.abs().square().sum((-2, -1)))

    def update(self, state: MMNetState, y: Tensor, A: Any, p: Layer) -> MMNetState:
        x, HhH, power = state
        sigma2 = noise_var_of(A, "MMNet")
        m, n = A.M.shape[-2:]
        residual = y - A(x)
        z = x + p.step * A.H(residual)
        v2 = (residual.abs().square().sum(-1) - m * sigma2).clamp_min(0) / power
        eye = torch.eye(n, dtype=HhH.dtype, device=HhH.device)
        spread = (eye - p.step * HhH).abs().square().sum((-2, -1))
        tau2 = p.scale * (spread * v2 + p.step**2 * power * sigma2) / n
        eps = torch.finfo(tau2.dtype).eps
        mean, _ = posterior(z, tau2.clamp_min(eps)[:, None], self.constellation.pam)
        return MMNetState(mean, HhH, power)


#: The recipe (`unrolled.Recipe`): Khani et al.'s: end-to-end on the squared error; Adam 1e-2 annealed and batches of 256 measured here.
RECIPE = annealed_recipe(
    loss="mse",
    lr=0.01,
    batch_size=256,
    notes="Khani et al.'s: end-to-end on the squared error; Adam 1e-2 annealed and batches of 256 measured here.",
)


@register("mmnet", recipe=RECIPE)
def mmnet(
    operator: Any = None,
    layers: int = 10,
    constellation: str = "qpsk",
    backprop: str = "full",
) -> Any:
    """MMNet-iid (Khani et al. 2020): `MMNetIteration` with θ¹_t and θ²_t learned per layer.

    The paper's i.i.d. variant learns exactly these two scalars per layer (its correlated
    variant learns a full matrix per layer instead of θ¹Hᴴ, trained per channel realisation;
    not built here). Departures from the paper: none in the iteration; θ¹ starts at 1/L of
    the example channel, θ² at 1.

    Args: as `unrolled.models.oamp_net.oamp_net`.
    """
    learn = ("step", "scale")
    return unrolled_detector(
        "mmnet", MMNetIteration(constellation), layers, learn, operator, backprop
    )


__all__ = ["MMNetIteration", "mmnet"]
