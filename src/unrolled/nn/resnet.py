"""`ResidualCNN`: MoDL's regulariser, a plain CNN with a skip connection."""

from __future__ import annotations

from torch import Tensor, nn

from ..core import register
from ..core.checks import positive_int
from ._common import as_image, conv_stack, depth_at_least


@register("residual-cnn", kind="block")
class ResidualCNN(nn.Module):
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

    def __init__(
        self, channels: int = 2, depth: int = 5, width: int = 64, batch_norm: bool = True
    ) -> None:
        super().__init__()
        channels, width = positive_int(channels, "channels"), positive_int(width, "width")
        depth = depth_at_least(depth, 2)
        self.body = conv_stack(channels, depth, width, batch_norm, first_norm=True)
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        image = as_image(x, self.channels)
        return (image + self.body(image)).view_as(x)
