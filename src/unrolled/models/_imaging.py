"""What the imaging models share: the network channels an operator's images need, and real
networks on complex images."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..core.checks import check_operator
from ..nn import ComplexAsChannels


def image_channels(operator: Any, model: str) -> tuple[int, bool]:
    """``(channels, complex)`` of the images ``x`` of ``operator``: the channels a real network
    sees (two per complex channel) and whether ``x`` is complex; clear errors otherwise."""
    if operator is None:
        raise ValueError(
            f"operator: {model} sizes its networks from the forward model's images; pass "
            f"operator=A (e.g. unrolled.ops.MRI(mask) or a problem's .operator)"
        )
    check_operator(operator, "operator")
    shape = operator.in_shape
    if shape is None or len(shape) not in (2, 3):
        raise ValueError(
            f"operator: {model} works on images, in_shape (H, W) or (C, H, W); got in_shape {shape}"
        )
    channels = 1 if len(shape) == 2 else int(shape[0])
    is_complex = operator.dtype is not None and operator.dtype.is_complex
    return (2 * channels if is_complex else channels), is_complex


def real_network(module: nn.Module, is_complex: bool) -> nn.Module:
    """``module`` as is for real images, wrapped in `ComplexAsChannels` for complex ones."""
    return ComplexAsChannels(module) if is_complex else module


def check_real(is_complex: bool, model: str) -> None:
    if is_complex:
        raise TypeError(
            f"operator: {model} reconstructs real images, got a complex operator (for MRI use "
            f"modl, varnet, admm-net or learned-primal-dual)"
        )
