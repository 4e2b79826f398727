"""The operator of a rating matrix: `unrolled.ops.Inpainting` with the mask of observed
ratings."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..ops import Inpainting


def check_sampling_operator(A: Any, name: str, argument: str = "operator") -> Inpainting:
    """``A`` if it is the `Inpainting` of a rating mask, else a TypeError naming ``argument``
    and ``name`` (the method that needs it)."""
    if not isinstance(A, Inpainting):
        raise TypeError(
            f"{argument}: {name} completes a rating matrix seen through its mask; pass "
            f"unrolled.ops.Inpainting(mask, (users, items)), got {type(A).__name__}"
        )
    return A


def observation_mask(y: Tensor, A: Any, name: str) -> Tensor:
    """The 0/1 mask ``AᴴA1`` of the observed ratings, ``(B, U, I)`` like ``y``, after checking
    that ``A`` is a sampling operator and the ratings are real."""
    check_sampling_operator(A, name, "A")
    if y.is_complex():
        raise TypeError(f"y: {name} needs real ratings, got {y.dtype}")
    return A.gram(torch.ones_like(y))


__all__ = ["check_sampling_operator", "observation_mask"]
