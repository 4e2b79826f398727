"""`DnCNN`: the residual denoising CNN of Zhang et al. 2017."""

from __future__ import annotations

from ..core import register
from ._common import ResidualConvBlock


@register("dncnn", kind="block")
class DnCNN(ResidualConvBlock):
    """DnCNN (Zhang, Zuo, Chen, Meng & Zhang 2017, "Beyond a Gaussian denoiser"): ``depth``
    3×3 convolutions, ``width`` features, ReLU, batch normalisation in the middle layers; it
    predicts the noise and returns ``x − noise`` (residual learning).

        conv(C→w) ReLU,  (depth − 2) × [conv(w→w) BN ReLU],  conv(w→C)

    The paper's denoiser: depth 17, width 64. The last convolution starts at zero, so an
    untrained DnCNN is the identity (a stable start inside an unrolled network).

    Args:
        channels: image channels C (2 for a complex image through `ComplexAsChannels`).
        depth: convolutions ≥ 2.
        width: features of the hidden layers.
        batch_norm: BN in the middle layers (the paper's; turn off for tiny batches).

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``; ``(B, H, W)`` when C = 1.
    """

    first_norm, sign = False, -1.0

    def __init__(
        self, channels: int = 1, depth: int = 17, width: int = 64, batch_norm: bool = True
    ) -> None:
        super().__init__(channels, depth, width, batch_norm)
