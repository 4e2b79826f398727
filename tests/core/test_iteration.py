"""A user's own iteration, written outside the library, unrolls, matches its run, and trains."""

import torch

import unrolled as ur
from unrolled.ops import LinearOperator


@ur.iteration(step=ur.Param(0.5, positive=True))
def landweber(x, y, A, step):
    return x - step * A.H(A(x) - y)


class CumSum(LinearOperator):
    """A user's operator: running sums (not in the library)."""

    in_shape = out_shape = (12,)

    def forward(self, x):
        return x.cumsum(-1)

    def adjoint(self, y):
        return y.flip(-1).cumsum(-1).flip(-1)


def test_readme_example_matches_run_before_training(problem):
    A, _, y = problem
    A = ur.Matrix(A.M / A.lipschitz() ** 0.5)  # step 0.5 converges when ‖A‖ = 1
    net = ur.unroll(landweber, layers=10, learn=["step"])
    assert net.params["step"].shape == (10,)
    expected = landweber.run(y, A, iterations=10)
    torch.testing.assert_close(net.double()(y, A), expected, rtol=1e-10, atol=1e-12)


def test_custom_iteration_with_custom_operator_trains():
    torch.manual_seed(0)
    A = CumSum()
    x = torch.randn(32, 12)
    y = A(x)
    alg = ur.iteration(
        step=ur.Param(0.01, positive=True), prox=ur.Slot(lambda v, tau: v, doc="prox(v, tau)")
    )(lambda x, y, A, step, prox: prox(x - step * A.H(A(x) - y), step))
    net = ur.unroll(alg, layers=8, learn="step")
    torch.testing.assert_close(net(y, A), alg.run(y, A, iterations=8), rtol=1e-5, atol=1e-6)

    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        loss = (net(y, A) - x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.85 * losses[0]


def test_iteration_rejects_non_param():
    import pytest

    with pytest.raises(TypeError, match="Param or a Slot"):
        ur.iteration(step=0.5)
