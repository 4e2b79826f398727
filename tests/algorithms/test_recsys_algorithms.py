"""Soft-impute and ALS are the algorithms their papers describe: soft-impute at full rank is
exact singular-value thresholding of the filled-in matrix, each ALS half-step minimises its
block exactly, and both predict held-out ratings."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.conftest import ratings_problem, sparse_problem
from unrolled.algorithms import ALS, ALSMNAR, SoftImpute
from unrolled.data import RatingCompletion, synthetic_ratings
from unrolled.recsys import rating_biases


def test_soft_impute_at_full_rank_is_exact_svt_of_the_filled_in_matrix():
    A, _, y = ratings_problem(m=10, n=14)
    iterations, lam = 8, 0.1
    trace = SoftImpute(rank=10, threshold=lam).run(y, A, iterations=iterations, trace=True)[1]
    W = A.gram(torch.ones_like(y))
    mu, b, c = rating_biases(y, W)
    base = mu[:, None, None] + b[:, :, None] + c[:, None, :]
    R = W * (y - base)
    tau = lam * torch.linalg.svdvals(R)[:, :1, None]
    Z = torch.zeros_like(R)
    for t in range(iterations):
        U, s, Vh = torch.linalg.svd(W * R + (1 - W) * Z, full_matrices=False)  # the paper's step
        Z = U @ torch.diag_embed(torch.relu(s - tau[..., 0])) @ Vh
        torch.testing.assert_close(trace[t], base + Z, rtol=1e-9, atol=1e-9)


def holdout_rmse(prediction, p):
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)
    error = prediction[0, u, i].clamp(1, 5) - torch.from_numpy(p.test_ratings.values)
    return float(error.square().mean().sqrt())


@pytest.mark.parametrize("algorithm", [SoftImpute(rank=8), ALS(rank=5)], ids=["soft-impute", "als"])
def test_both_predict_held_out_ratings_better_than_the_biases(algorithm):
    p = RatingCompletion(synthetic_ratings(150, 250, density=0.12, seed=4), seed=4)
    y, A = p.inputs()
    W = A.gram(torch.ones_like(y))
    mu, b, c = rating_biases(y, W)
    baseline = holdout_rmse(mu[:, None, None] + b[:, :, None] + c[:, None, :], p)
    rmse = holdout_rmse(algorithm.run(y, A, iterations=30), p)
    assert rmse < 0.9 * baseline


def als_objective(state, lam, missing_weight=0.0, missing_value=0.0):
    """Steck's weighted objective: the unrated entries as ratings of μ + r_m, weight w_m."""
    P, Q, b, c, R, W, *_ = state
    weight = W + missing_weight * (1 - W)
    target = R + (1 - W) * missing_value
    fit = weight.sqrt() * (target - b[:, :, None] - c[:, None, :] - P @ Q.mT)
    users = (W.sum(-1).clamp_min(1) * (P.square().sum(-1) + b.square())).sum()
    items = (W.sum(-2).clamp_min(1) * (Q.square().sum(-1) + c.square())).sum()
    return fit.square().sum() + lam * (users + items)


@pytest.mark.parametrize("missing", [(0.0, -1.0), (0.3, -1.5)], ids=["als-wr", "weighted"])
def test_als_half_steps_minimise_their_blocks_exactly(missing):
    A, _, y = ratings_problem(m=15, n=20)
    w, v = missing
    als = ALSMNAR(rank=3, missing_weight=w, missing_value=v) if w else ALS(rank=3)
    values = als.defaults(A)
    state = als.init(y, A)
    previous = float("inf")
    for t in range(10):
        state = als.update(state, y, A, ur.Layer(values, t))
        objective = float(als_objective(state, values["reg"], *missing))
        assert objective <= previous + 1e-9
        previous = objective
    # after the item half-step its block (Q, c) is stationary
    Q, c = state.Q.clone().requires_grad_(), state.c.clone().requires_grad_()
    als_objective(state._replace(Q=Q, c=c), values["reg"], *missing).backward()
    assert Q.grad.abs().max() < 1e-8 and c.grad.abs().max() < 1e-8


@pytest.mark.parametrize("algorithm", [SoftImpute, ALS])
def test_they_need_a_mask_and_real_ratings(algorithm):
    A, _, y = sparse_problem()
    with pytest.raises(TypeError, match=r"A: .* unrolled\.ops\.Inpainting"):
        algorithm().run(y, A, iterations=2)
    A, _, y = ratings_problem()
    with pytest.raises(TypeError, match=r"y: .* real ratings"):
        algorithm().run(y.to(torch.complex128), A, iterations=2)
    for name, value in (("rank", 0), ("start_iterations", -1)):
        with pytest.raises((ValueError, TypeError), match=name):
            algorithm(**{name: value})


def test_learned_factories_need_a_mask():
    A, _, _ = sparse_problem()
    for name in ("soft-impute-net", "als-net"):
        with pytest.raises(TypeError, match=f"operator: {name}"):
            ur.create(name, operator=A)


def test_als_net_correction_starts_as_the_identity():
    A, _, y = ratings_problem()
    net = ur.create("als-net", operator=A, layers=3, rank=4, correction=True).double()
    torch.testing.assert_close(net(y), ALS(rank=4).run(y, A, iterations=3), rtol=1e-10, atol=1e-10)
    assert sum(p.numel() for p in net.parameters()) > 6
    assert torch.isfinite(net(y)).all()


def test_weighting_the_unrated_entries_ranks_what_users_rate_first():
    """Steck (2010): with the unrated entries pulled down, the items a user will rate rank
    above those nobody takes, which plain ALS leaves to chance."""
    p = RatingCompletion(synthetic_ratings(120, 200, density=0.1, seed=3), seed=3)
    y, A = p.inputs()
    u, i = torch.from_numpy(p.test_ratings.users), torch.from_numpy(p.test_ratings.items)

    def test_rank(algorithm):  # the mean rank of the test items among each user's unrated
        x = algorithm.run(y, A, iterations=10)[0].masked_fill(p.mask, -torch.inf)
        return float(x.argsort(-1, descending=True).argsort(-1)[u, i].double().mean())

    weighted = ALSMNAR(rank=5, missing_weight=0.1, missing_value=-2.0)
    assert test_rank(weighted) < 0.8 * test_rank(ALS(rank=5))


@pytest.mark.parametrize("missing_weight", [0.0, 0.05])
def test_als_net_before_training_is_its_als(missing_weight):
    A, _, y = ratings_problem()
    net = ur.create("als-net", operator=A, layers=3, rank=4, missing_weight=missing_weight,
                    missing_value=-2.0).double()  # fmt: skip
    classical = (
        ALSMNAR(rank=4, missing_weight=missing_weight, missing_value=-2.0) if missing_weight
        else ALS(rank=4)
    )  # fmt: skip
    expected = classical.run(y, A, iterations=3)
    torch.testing.assert_close(net(y), expected, rtol=1e-10, atol=1e-10)
    learned = {"reg", "damping"} | (
        {"missing_weight", "missing_value"} if missing_weight else set()
    )
    assert set(net.param_values()) == learned
    with pytest.raises(ValueError, match=r"missing_weight: expected a weight in \[0, 1\), got 1.5"):
        ur.create("als-net", operator=A, missing_weight=1.5)


def test_soft_impute_net_before_training_is_soft_impute():
    A, _, y = ratings_problem()
    net = ur.create("soft-impute-net", operator=A, layers=4, rank=6, threshold=0.2).double()
    expected = SoftImpute(rank=6, threshold=0.2).run(y, A, iterations=4)
    torch.testing.assert_close(net(y), expected, rtol=1e-10, atol=1e-10)
    assert set(net.param_values()) == {"step", "threshold"}


def test_the_item_graph_is_the_normalised_co_occurrence():
    from unrolled.recsys import item_graph

    R = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    P = item_graph(R).M
    du, di = R.sum(1), R.sum(0)
    expected = torch.zeros(4, 4)
    for i in range(4):
        for j in range(4):
            for u in range(2):
                if R[u, i] * R[u, j]:
                    expected[i, j] += 1 / (du[u] * (di[i] * di[j]).sqrt())
    torch.testing.assert_close(P, expected)  # item 3 and user 2, never seen: zero, no NaN
    eigenvalues = torch.linalg.eigvalsh(P)
    assert eigenvalues.min() > -1e-6 and eigenvalues.max() < 1 + 1e-6
    with pytest.raises(ValueError, match="interactions: expected zeros and ones"):
        item_graph(2 * R)


def test_graph_filter_and_ppr_are_their_closed_forms():
    from unrolled.algorithms import GraphFilter, PPRPropagation
    from unrolled.recsys import item_graph

    g = torch.Generator().manual_seed(0)
    R = (torch.rand(30, 20, generator=g) < 0.2).double()
    A = item_graph(R)
    P, y = A.M, R[:4]
    powers = [y @ torch.linalg.matrix_power(P, k) for k in (1, 2, 3)]
    torch.testing.assert_close(GraphFilter().run(y, A, iterations=3), sum(powers))
    fixed = 0.1 * y @ torch.linalg.inv(torch.eye(20, dtype=P.dtype) - 0.9 * P)
    torch.testing.assert_close(PPRPropagation().run(y, A, iterations=300), fixed)


@pytest.mark.parametrize("name", ["als-net", "soft-impute-net"])
def test_the_recipe_trains_on_the_loss_the_target_asks_for(name):
    ratings = synthetic_ratings(40, 60, density=0.2, seed=1)
    p = RatingCompletion(ratings, seed=1)
    net = ur.create(name, operator=p.operator, layers=1, rank=3)
    assert net.recipe.resolve(net, p)["loss"] == "mse"
    assert net.recipe.resolve(net, p.with_target("ranking"))["loss"] == "softmax"
