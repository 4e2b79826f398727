"""The baseline predictor ``μ + b_u + c_i`` of collaborative filtering, on dense masked rating
matrices."""

from __future__ import annotations

from torch import Tensor


def observed_mean(R: Tensor, W: Tensor) -> Tensor:
    """The mean observed rating μ of each matrix. ``R``, ``W`` ``(B, U, I)`` (ratings, 0/1
    mask); returns ``(B,)`` (0 for a matrix without ratings)."""
    return (R * W).sum((-2, -1)) / W.sum((-2, -1)).clamp_min(1)


def rating_biases(
    R: Tensor, W: Tensor, reg_user: float = 15.0, reg_item: float = 10.0, sweeps: int = 10
) -> tuple[Tensor, Tensor, Tensor]:
    """The regularised baseline ``r_ui ≈ μ + b_u + c_i`` (Koren 2010, "Factor in the
    neighbors", §2.1) by alternating least squares, Surprise's ``BaselineOnly`` defaults:

        b_u = Σ_{i∈Ω_u} (r_ui − μ − c_i) / (λ_u + |Ω_u|),
        c_i = Σ_{u∈Ω_i} (r_ui − μ − b_u) / (λ_i + |Ω_i|),     ``sweeps`` times from 0.

    Args:
        R: ``(B, U, I)`` ratings (any value where unobserved).
        W: ``(B, U, I)`` the 0/1 observation mask.
        reg_user, reg_item: λ_u, λ_i.
        sweeps: alternations.

    Returns:
        μ ``(B,)``, b ``(B, U)``, c ``(B, I)``.
    """
    mu = observed_mean(R, W)
    residual = W * (R - mu[:, None, None])
    n_user, n_item = W.sum(-1), W.sum(-2)
    b = residual.new_zeros(n_user.shape)
    c = residual.new_zeros(n_item.shape)
    for _ in range(sweeps):
        b = (residual - W * c[:, None, :]).sum(-1) / (reg_user + n_user)
        c = (residual - W * b[:, :, None]).sum(-2) / (reg_item + n_item)
    return mu, b, c


__all__ = ["observed_mean", "rating_biases"]
