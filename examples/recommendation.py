"""Recommendation: ALS unrolled (a learned ridge weight and damping per sweep) on synthetic
ratings, against the classical ALS it starts from and the global mean.

python examples/recommendation.py

Each training step hides a fresh 10 % of the training ratings and scores the network on them,
so no test rating is ever seen. On MovieLens-100K (`make movielens`, then
`RatingCompletion("movielens-100k")`) the benchmark's numbers are in
`docs/guide/recommendation.md`.
"""

import torch

import unrolled as ur
from unrolled.data import RatingCompletion, synthetic_ratings
from unrolled.metrics import rmse
from unrolled.train import fit


def main() -> None:
    torch.manual_seed(0)
    # 300 users, 500 items, rank-5 tastes plus noise, 8 % of the ratings observed, 5-fold split
    problem = RatingCompletion(synthetic_ratings(300, 500, density=0.08))
    net = ur.create("als-net", operator=problem.operator, layers=3, rank=8, reg=0.1)
    y, A = problem.inputs()  # (1, users, items): every training rating, 0 where unobserved
    t = problem.test_ratings  # the test fold: (user, item, rating) triples training never sees
    truth = torch.from_numpy(t.values)

    def test_rmse() -> float:
        with torch.no_grad():
            x_hat = net(y, A)[0]  # (users, items): every rating predicted
        return rmse(x_hat[t.users, t.items].clamp(1, 5), truth).item()

    untrained = test_rmse()  # the untrained network is ALS with 3 sweeps
    # each step: a fresh 10 % of the training ratings hidden, predicted and scored
    fit(net, problem, schedule="end-to-end", loss="mse", lr=1e-2, batch_size=1, max_steps=40)
    mean = float(problem.train_ratings.values.mean())
    print(f"global mean          test RMSE {rmse(torch.full_like(truth, mean), truth):.4f}")
    print(f"ALS, 3 sweeps        test RMSE {untrained:.4f}")
    print(f"unrolled ALS, 3      test RMSE {test_rmse():.4f}")
    print("learned ridge weights:", [round(v, 3) for v in net.param_values()["reg"].tolist()])


if __name__ == "__main__":
    main()
