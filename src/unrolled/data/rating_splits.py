"""The standard evaluation splits of a rating set: k-fold cross-validation and per-user temporal
hold-out. Each returns ``(train, test)`` index arrays into the `Ratings`; the two are disjoint
and cover it."""

from __future__ import annotations

import numpy as np

from ..core.checks import positive_int
from .ratings import Ratings


def kfold(ratings: Ratings, folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train, test) splits: the ratings shuffled with ``seed`` and cut into ``folds``
    near-equal parts, each the test set once (as Surprise's ``KFold``, whose MovieLens-100K
    numbers REFERENCES.md quotes).

    Returns:
        ``folds`` pairs of sorted int64 index arrays.
    """
    folds = positive_int(folds, "folds")
    if not 2 <= folds <= len(ratings):
        raise ValueError(f"folds: expected 2 to {len(ratings)} (the ratings), got {folds}")
    order = np.random.default_rng(seed).permutation(len(ratings))
    parts = np.array_split(order, folds)
    return [
        (np.sort(np.concatenate(parts[:k] + parts[k + 1 :])), np.sort(parts[k]))
        for k in range(folds)
    ]


def temporal_holdout(ratings: Ratings, per_user: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Each user's ``per_user`` latest ratings (by timestamp; among equal times, the later row)
    are the test set, the rest the training set. A user with ``per_user`` ratings or fewer keeps
    them all in training, so every test user has a history.

    Returns:
        sorted int64 (train, test) index arrays.
    """
    per_user = positive_int(per_user, "per_user")
    order, from_end = rank_from_latest(ratings)
    counts = np.bincount(ratings.users, minlength=ratings.n_users)
    test = (from_end < per_user) & (counts[ratings.users[order]] > per_user)
    return np.sort(order[~test]), np.sort(order[test])


def rank_from_latest(ratings: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """Each user's ratings from its latest back: ``order``, the rows grouped by user and in time
    within a user (among equal times, the later row is the later), and ``from_end[j]``, 0 for
    row ``order[j]`` when it is its user's latest, 1 for the one before, ….

    Raises:
        ValueError: the ratings have no timestamps.
    """
    if ratings.timestamps is None:
        raise ValueError("ratings: a temporal hold-out needs timestamps, got ratings without them")
    rows = np.arange(len(ratings))
    order = np.lexsort((rows, ratings.timestamps, ratings.users))
    return order, from_end(ratings.users[order], ratings.n_users)


def from_end(users: np.ndarray, n_users: int) -> np.ndarray:
    """For rows grouped by user (``users`` sorted), each row's distance from its group's last:
    0 for a user's last row, 1 for the one before, …."""
    ends = np.cumsum(np.bincount(users, minlength=n_users))
    return ends[users] - 1 - np.arange(len(users))


__all__ = ["from_end", "kfold", "rank_from_latest", "temporal_holdout"]
