"""Shared input handling of the image blocks."""

from __future__ import annotations

from typing import Any

from torch import Tensor


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
