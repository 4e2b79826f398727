"""Biased matrix factorisation by stochastic gradient descent: the usual recommendation baseline
(Funk 2006; Koren, Bell & Volinsky 2009), as Surprise's ``SVD``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.checks import positive_int


@dataclass
class BiasedMF:
    """``r̂_ui = μ + b_u + c_i + p_uᵀq_i``; `fit_biased_mf` trains one.

    Attributes:
        mu: the global mean. b ``(U,)``, c ``(I,)`` the biases; P ``(U, k)``, Q ``(I, k)``.
    """

    mu: float
    b: np.ndarray
    c: np.ndarray
    P: np.ndarray
    Q: np.ndarray

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions for the pairs ``(users[n], items[n])``, ``(N,)``."""
        dot = np.einsum("nk,nk->n", self.P[users], self.Q[items])
        return self.mu + self.b[users] + self.c[items] + dot


def fit_biased_mf(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    shape: tuple[int, int],
    factors: int = 100,
    epochs: int = 20,
    lr: float = 0.005,
    reg: float = 0.02,
    init_std: float = 0.1,
    seed: int = 0,
) -> BiasedMF:
    """Biased MF by SGD over single ratings, Surprise's ``SVD`` and its defaults (100 factors,
    20 epochs, learning rate 0.005, regularisation 0.02, factors from N(0, 0.1²), biases 0):
    for each rating, with ``e = r_ui − r̂_ui``,

        b_u += lr (e − reg b_u),   c_i += lr (e − reg c_i),
        p_u += lr (e q_i − reg p_u),   q_i += lr (e p_u − reg q_i)   (both from the old values).

    One departure: the ratings are visited in a fresh random order each epoch (Surprise walks
    them user by user).

    Args:
        users, items, values: ``(N,)`` the training ratings (indices and values).
        shape: ``(U, I)``, the number of users and items.
        factors, epochs, lr, reg, init_std: as above.
        seed: the factors' initialisation and the visiting order.
    """
    factors, epochs = positive_int(factors, "factors"), positive_int(epochs, "epochs")
    if len(values) == 0:
        raise ValueError("values: expected at least one training rating, got none")
    rng = np.random.default_rng(seed)
    mu = float(np.mean(values))
    b, c = np.zeros(shape[0]), np.zeros(shape[1])
    P = rng.normal(0, init_std, (shape[0], factors))
    Q = rng.normal(0, init_std, (shape[1], factors))
    values = np.asarray(values, dtype=np.float64)
    for _ in range(epochs):
        for n in rng.permutation(len(values)):
            u, i = users[n], items[n]
            p, q = P[u], Q[i]
            e = values[n] - (mu + b[u] + c[i] + p @ q)
            b[u] += lr * (e - reg * b[u])
            c[i] += lr * (e - reg * c[i])
            P[u] = p + lr * (e * q - reg * p)
            Q[i] = q + lr * (e * p - reg * q)
    return BiasedMF(mu, b, c, P, Q)


__all__ = ["BiasedMF", "fit_biased_mf"]
