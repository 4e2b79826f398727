"""`ResidualCNN`: MoDL's regulariser, a plain CNN with a skip connection."""

from __future__ import annotations

from ..core import register
from ._common import ResidualConvBlock


@register("residual-cnn", kind="block")
class ResidualCNN(ResidualConvBlock):
    """The denoiser of MoDL (Aggarwal, Mani & Jacob 2019): ``depth`` 3×3 convolutions of
    ``width`` features, each but the last followed by batch normalisation and ReLU, added to
    its input: ``D(x) = x + CNN(x)``. MoDL: depth 5, width 64, shared by all iterations, on
    complex images as two channels (`ComplexAsChannels`).

    The last convolution starts at zero, so an untrained block is the identity.

    Args:
        channels: image channels (2 for complex images as channels).
        depth: convolutions ≥ 2.
        width: features.
        batch_norm: BN after the hidden convolutions (MoDL's).

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``; ``(B, H, W)`` when C = 1.
    """

    first_norm, sign = True, 1.0

    def __init__(
        self, channels: int = 2, depth: int = 5, width: int = 64, batch_norm: bool = True
    ) -> None:
        super().__init__(channels, depth, width, batch_norm)
