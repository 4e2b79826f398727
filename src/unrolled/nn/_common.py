"""Shared input handling of the image blocks."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..core.checks import positive_int


def depth_at_least(depth: Any, least: int, name: str = "depth") -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < least:
        raise ValueError(f"{name}: expected an int >= {least}, got {depth!r}")
    return depth


def as_image(x: Tensor, channels: int) -> Tensor:
    """``x`` as ``(B, channels, H, W)``: ``(B, H, W)`` is accepted when ``channels`` is 1."""
    image = x.unsqueeze(1) if x.ndim == 3 and channels == 1 else x
    if image.ndim != 4 or image.shape[1] != channels:
        also = " or (B, H, W)" if channels == 1 else ""
        raise ValueError(f"x: expected (B, {channels}, H, W){also}, got {tuple(x.shape)}")
    if image.is_complex():
        raise TypeError(
            f"x: expected a real image, got {x.dtype}; wrap the block in ComplexAsChannels"
        )
    return image


def conv_stack(
    channels: int, depth: int, width: int, batch_norm: bool, first_norm: bool
) -> nn.Sequential:
    """``depth`` 3×3 convolutions ``channels → width → … → channels``, ReLU after all but the
    last, batch normalisation after the hidden ones (after the first too if ``first_norm``);
    the last convolution starts at zero, so a residual block around it starts as the identity."""
    layers: list[nn.Module] = []
    features = channels
    for i in range(depth - 1):
        norm = batch_norm and (i > 0 or first_norm)
        layers.append(nn.Conv2d(features, width, 3, padding=1, bias=not norm))
        layers += [nn.BatchNorm2d(width)] if norm else []
        layers.append(nn.ReLU(inplace=True))
        features = width
    last = nn.Conv2d(width, channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class ResidualConvBlock(nn.Module):
    """Abstract: ``x ± CNN(x)`` over a `conv_stack`; subclasses set ``first_norm`` and
    ``sign`` (and their own defaults)."""

    first_norm: bool
    sign: float

    def __init__(self, channels: int, depth: int, width: int, batch_norm: bool) -> None:
        super().__init__()
        self.channels = positive_int(channels, "channels")
        width, depth = positive_int(width, "width"), depth_at_least(depth, 2)
        self.body = conv_stack(self.channels, depth, width, batch_norm, self.first_norm)

    def forward(self, x: Tensor) -> Tensor:
        image = as_image(x, self.channels)
        return (image + self.sign * self.body(image)).view_as(x)
