import math

import pytest
import torch

from unrolled.metrics import nmse, nmse_db, nmse_db_per_layer


def test_known_values():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    x_hat = torch.tensor([[0.0, 0.0], [0.0, 1.8]])  # error 1 of 1; 0.04 of 4
    torch.testing.assert_close(nmse(x_hat, x), torch.tensor([1.0, 0.01]))
    torch.testing.assert_close(nmse_db(x_hat, x, reduction="none"), torch.tensor([0.0, -20.0]))
    torch.testing.assert_close(nmse_db(x_hat, x), torch.tensor(-10.0))


def test_reductions():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 5, generator=g)
    x_hat = x + 0.1 * torch.randn(7, 5, generator=g)
    per_sample = nmse_db(x_hat, x, reduction="none")
    assert per_sample.shape == (7,)
    torch.testing.assert_close(nmse_db(x_hat, x, reduction="mean"), per_sample.mean())
    torch.testing.assert_close(nmse_db(x_hat, x, reduction="median"), per_sample.median())
    torch.testing.assert_close(per_sample, 10 * torch.log10(nmse(x_hat, x)))


def test_all_non_batch_dimensions_count():
    x = torch.ones(2, 3, 4)
    x_hat = x.clone()
    x_hat[0, 2, 3] = 0.0  # one entry wrong out of 12
    torch.testing.assert_close(nmse(x_hat, x), torch.tensor([1 / 12, 0.0]))


def test_complex():
    x = torch.randn(4, 6, dtype=torch.complex64)
    x_hat = x * (1 + 0.1j)  # |error| = 0.1 |x|
    db = nmse_db(x_hat, x, reduction="none")
    assert db.dtype == torch.float32
    torch.testing.assert_close(db, torch.full((4,), -20.0), atol=1e-4, rtol=0)


def test_per_layer_matches_per_layer_calls():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 8, generator=g)
    trace = x + torch.randn(3, 5, 8, generator=g) * torch.tensor([1.0, 0.1, 0.01]).view(3, 1, 1)
    per_layer = nmse_db_per_layer(trace, x)
    assert per_layer.shape == (3,)
    expected = torch.stack([nmse_db(trace[k], x) for k in range(3)])
    torch.testing.assert_close(per_layer, expected)
    assert per_layer[0] > per_layer[1] > per_layer[2]


def test_shape_mismatch_names_the_arguments():
    with pytest.raises(ValueError, match=r"x_hat.*\(3, 4\).*x.*\(3, 5\)"):
        nmse_db(torch.zeros(3, 4), torch.ones(3, 5))
    with pytest.raises(ValueError, match="trace"):
        nmse_db_per_layer(torch.zeros(2, 3, 4), torch.ones(3, 5))
    with pytest.raises(ValueError, match="trace"):
        nmse_db_per_layer(torch.zeros(3, 4), torch.ones(3, 4))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"reduction.*'sum'"):
        nmse_db(torch.zeros(2, 3), torch.ones(2, 3), reduction="sum")
    with pytest.raises(TypeError, match="x_hat"):
        nmse([1.0], torch.ones(1))
    with pytest.raises(ValueError, match="x: expected a batched"):
        nmse(torch.ones(1), torch.tensor(1.0))


def test_zero_signal_is_infinite():
    db = nmse_db(torch.ones(1, 3), torch.zeros(1, 3), reduction="none")
    assert math.isinf(float(db[0]))


# -- recommendation -------------------------------------------------------------------------------


def test_rmse_and_mae_of_held_out_ratings():
    from unrolled.metrics import mae, rmse

    predicted, actual = torch.tensor([3.0, 4.0, 2.0, 5.0]), torch.tensor([3.0, 2.0, 2.0, 4.0])
    torch.testing.assert_close(rmse(predicted, actual), torch.tensor((5 / 4) ** 0.5))
    torch.testing.assert_close(mae(predicted, actual), torch.tensor(3 / 4))
    with pytest.raises(ValueError, match="expected the same shape"):
        rmse(predicted, actual[:3])
    with pytest.raises(ValueError, match="at least one held-out rating"):
        mae(predicted[:0], actual[:0])


def test_recall_and_ndcg_at_k_by_hand():
    from unrolled.metrics import ndcg_at_k, recall_at_k

    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]])
    relevant = torch.tensor([[0, 1, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
    # user 0: top-2 = items 0, 1, one hit of min(2, 2) = 2; user 1: top-2 = 3, 2, one of 1
    torch.testing.assert_close(recall_at_k(scores, relevant, k=2), torch.tensor(0.75))
    dcg0 = 1 / math.log2(3)
    ideal0 = 1 + 1 / math.log2(3)
    expected = (dcg0 / ideal0 + 1.0) / 2  # user 2 has nothing held out: left out
    torch.testing.assert_close(
        ndcg_at_k(scores, relevant, k=2), torch.tensor(expected, dtype=torch.float32)
    )
    # excluding item 0 (seen in training) puts items 1, 2 on user 0's list
    exclude = torch.zeros_like(relevant)
    exclude[0, 0] = True
    torch.testing.assert_close(recall_at_k(scores, relevant, 2, exclude), torch.tensor(0.75))
    with pytest.raises(ValueError, match="k: expected 1 to 4"):
        recall_at_k(scores, relevant, k=5)
    with pytest.raises(ValueError, match="scores: expected"):
        ndcg_at_k(scores[0], relevant[0], k=2)


def test_poisson_log_likelihood_is_the_sum_of_the_log_pmf():
    from unrolled.metrics import poisson_log_likelihood

    g = torch.Generator().manual_seed(0)
    mean = torch.rand(3, 2, 5, generator=g, dtype=torch.float64) * 4 + 0.1
    y = torch.poisson(mean, generator=g)
    expected = torch.distributions.Poisson(mean).log_prob(y).flatten(1).sum(1)
    torch.testing.assert_close(poisson_log_likelihood(y, mean), expected)
    zero = torch.zeros(1, 2, dtype=torch.float64)  # a bin expecting nothing, seeing nothing
    assert poisson_log_likelihood(zero, zero).item() == 0.0
    with pytest.raises(ValueError, match="mean"):
        poisson_log_likelihood(y, mean[:2])


def test_bias_and_std_over_realisations():
    from unrolled.metrics import bias_and_std

    x = torch.tensor([[3.0, 4.0]])  # ‖x‖ = 5
    same = torch.tensor([[[3.0, 4.5]], [[3.0, 4.5]]])  # no spread, error 0.5
    assert bias_and_std(same, x) == pytest.approx((10.0, 0.0))
    spread = torch.tensor([[[2.0, 4.0]], [[4.0, 4.0]]])  # unbiased, variance 2 in one pixel
    assert bias_and_std(spread, x) == pytest.approx((0.0, 100 * math.sqrt(2) / 5))
    with pytest.raises(ValueError, match="at least 2 realisations"):
        bias_and_std(same[:1], x)
    with pytest.raises(ValueError, match=r"estimates: expected \(R, \*x.shape\)"):
        bias_and_std(same[:, 0], x)
