"""OAMP-Net and OAMP-Net2 (He, Wen, Jin & Li 2018, 2020): OAMP for MIMO detection with a few
learned scalars per layer."""

from __future__ import annotations

from typing import Any

from ..algorithms.oamp import OAMP
from ..comms import Channel
from ..core import register, unroll
from ._common import annealed_recipe


def unrolled_detector(
    name: str,
    algorithm: Any,
    layers: int,
    learn: tuple[str, ...],
    operator: Any,
    backprop: str,
    replace: dict[str, Any] | None = None,
) -> Any:
    """``algorithm`` unrolled for ``layers`` layers with the scalars ``learn`` learned per
    layer (and the slots ``replace`` by learned modules, as `unrolled.unroll` takes them), after
    checking that ``operator`` is a `unrolled.comms.Channel` (the detectors read its noise
    variance)."""
    if not isinstance(operator, Channel):
        raise TypeError(
            f"operator: {name} detects symbols through a unrolled.comms.Channel (H with its "
            f"noise variance), got {type(operator).__name__}"
        )
    return unroll(
        algorithm, layers, learn=learn, replace=replace, operator=operator, backprop=backprop
    )


#: The recipe (`unrolled.Recipe`): He et al.'s code: end-to-end on the squared error; Adam 1e-2 annealed and batches of 256 measured here.
RECIPE = annealed_recipe(
    loss="mse",
    lr=0.01,
    batch_size=256,
    notes="He et al.'s code: end-to-end on the squared error; Adam 1e-2 annealed and batches of 256 measured here.",
)


@register("oamp-net", recipe=RECIPE)
def oamp_net(
    operator: Any = None,
    layers: int = 10,
    constellation: str = "qpsk",
    backprop: str = "full",
) -> Any:
    """OAMP-Net (He et al. 2018): `unrolled.algorithms.OAMP` with γ_t (the linear step) and
    θ_t (the variance-estimate scale) learned per layer, both starting at 1, so the untrained
    network is OAMP.

    Departures from the paper: the LMMSE matrix of layer t uses that layer's error-variance
    estimate v_t² (the authors' code uses the previous layer's, starting at 1); the models
    train on a range of SNRs (`unrolled.data.MIMODetection`), the paper one model per SNR.

    Args:
        operator: a `unrolled.comms.Channel` (sizes nothing: the channel changes per sample,
            but the factory checks the kind).
        layers: OAMP iterations (the paper: 10).
        constellation: the symbols' constellation (its levels are the denoiser's prior).
        backprop: ``"full"`` or ``"checkpoint"``.

    Train on `unrolled.data.MIMODetection` with ``loss="mse"``, as the paper does.
    """
    return unrolled_detector(
        "oamp-net", OAMP(constellation), layers, ("gamma", "theta"), operator, backprop
    )


@register("oamp-net2", recipe=RECIPE)
def oamp_net2(
    operator: Any = None,
    layers: int = 10,
    constellation: str = "qpsk",
    backprop: str = "full",
) -> Any:
    """OAMP-Net2 (He et al. 2020, "Model-driven deep learning for MIMO detection"): OAMP with
    four learned scalars per layer, γ_t, θ_t, φ_t, ξ_t, in

        r_t = x̂_t + γ_t W_t (y − Hx̂_t),   x̂_{t+1} = φ_t (E[x | r_t, τ_t²] − ξ_t r_t)

    (θ_t scales W_t in τ_t²). They start at γ = θ = φ = 1, ξ = 0: the untrained network is OAMP.

    Departures from the paper: as `oamp_net` (v_t² of the current layer in W_t; one model for
    a range of SNRs rather than one per SNR).

    Args: as `oamp_net`.
    """
    learn = ("gamma", "theta", "phi", "xi")
    return unrolled_detector("oamp-net2", OAMP(constellation), layers, learn, operator, backprop)


__all__ = ["oamp_net", "oamp_net2"]
