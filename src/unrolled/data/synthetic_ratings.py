"""Synthetic ratings for tests and demos: a low-rank matrix plus noise, observed with power-law
item popularity and, optionally, missing not at random."""

from __future__ import annotations

import numpy as np

from ..core.checks import positive_int
from .ratings import Ratings


def synthetic_ratings(
    users: int = 300,
    items: int = 500,
    rank: int = 5,
    density: float = 0.05,
    noise: float = 0.5,
    popularity: float = 1.0,
    mnar: float = 0.0,
    scale: tuple[int, int] | None = (1, 5),
    seed: int = 0,
) -> Ratings:
    """Ratings ``r_ui = μ + b_u + c_i + p_uᵀq_i + ε`` on a random set of (user, item) pairs.

    ``μ = 3.5``; ``b_u, c_i ~ N(0, 0.5²)``; ``p_u, q_i ~ N(0, I/√rank)`` (so ``p_uᵀq_i`` has
    unit variance); ``ε ~ N(0, noise²)``. Item ``i`` (in a random order) is observed with
    weight ``(i + 1)^(−popularity)``, a power law like real catalogues' long tail (0: uniform);
    with ``mnar`` > 0 a pair's weight is also multiplied by ``exp(mnar·z_ui)``, ``z`` the
    standardised rating, so high ratings are seen more often (missing not at random, as users
    rate what they like). Every user and item gets at least one rating.

    Args:
        users, items: the matrix size.
        rank: the rank of the interaction term.
        density: the fraction of pairs observed, in (0, 1].
        noise: the standard deviation of ε.
        popularity: the power-law exponent of item popularity (≥ 0).
        mnar: the strength of the rating-dependent observation (≥ 0; 0 is missing at random).
        scale: round and clip to these integer levels (MovieLens' 1–5 stars); None keeps reals.
        seed: the random seed.

    Returns:
        `Ratings` with raw ids ``"u0", "u1", …`` and ``"i0", …``, and distinct timestamps in
        random order.
    """
    users, items, rank = (
        positive_int(v, n) for v, n in ((users, "users"), (items, "items"), (rank, "rank"))
    )
    if not 0 < density <= 1:
        raise ValueError(f"density: expected a fraction in (0, 1], got {density}")
    for name, value in (("noise", noise), ("popularity", popularity), ("mnar", mnar)):
        if value < 0:
            raise ValueError(f"{name}: expected a value ≥ 0, got {value}")
    rng = np.random.default_rng(seed)
    P = rng.normal(0, rank**-0.25, (users, rank))
    Q = rng.normal(0, rank**-0.25, (items, rank))
    truth = 3.5 + rng.normal(0, 0.5, (users, 1)) + rng.normal(0, 0.5, (1, items)) + P @ Q.T
    observed = truth + rng.normal(0, noise, truth.shape)
    weight = np.ones((users, 1)) * (rng.permutation(items) + 1.0) ** -popularity
    if mnar:
        z = (observed - observed.mean()) / observed.std()
        weight = weight * np.exp(mnar * z)
    count = max(round(density * users * items), users + items)
    if count > users * items:
        raise ValueError(f"density: {density} of {users}×{items} leaves too few pairs to rate")
    chosen = rng.choice(users * items, size=count, replace=False, p=(weight / weight.sum()).ravel())
    mask = np.zeros(users * items, dtype=bool)
    mask[chosen] = True
    mask = mask.reshape(users, items)
    # one rating at least per user and item: its most likely pair
    mask[np.arange(users), weight.argmax(1)] = True
    mask[weight.argmax(0), np.arange(items)] = True
    u, i = np.nonzero(mask)
    values = observed[u, i]
    if scale is not None:
        values = np.clip(np.rint(values), *scale)
    timestamps = 10**9 + rng.permutation(len(u)) * 60
    return Ratings.from_ids(
        np.char.add("u", u.astype(str)), np.char.add("i", i.astype(str)), values, timestamps
    )


__all__ = ["synthetic_ratings"]
