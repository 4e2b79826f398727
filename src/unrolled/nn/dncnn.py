"""`DnCNN`: the residual denoising CNN of Zhang et al. 2017."""

from __future__ import annotations

from torch import Tensor, nn

from ..core import register
from ..core.checks import positive_int
from ._common import as_image, depth_at_least


@register("dncnn", kind="block")
class DnCNN(nn.Module):
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

    def __init__(
        self, channels: int = 1, depth: int = 17, width: int = 64, batch_norm: bool = True
    ) -> None:
        super().__init__()
        channels, width = positive_int(channels, "channels"), positive_int(width, "width")
        depth = depth_at_least(depth, 2)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(width)] if batch_norm else []
            layers += [nn.ReLU(inplace=True)]
        last = nn.Conv2d(width, channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        image = as_image(x, self.channels)
        out = image - self.body(image)
        return out.view_as(x)
