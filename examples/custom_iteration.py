"""Unroll your own iteration: Landweber with one learned step size per layer.

python examples/custom_iteration.py
"""

import torch

import unrolled as ur


@ur.iteration(step=ur.Param(0.5, positive=True))
def landweber(x, y, A, step):
    """x ← x − α Aᴴ(Ax − y)."""
    return x - step * A.H(A(x) - y)


def main() -> None:
    torch.manual_seed(0)
    A = ur.Matrix(torch.randn(60, 40) / 60**0.5)
    x = torch.randn(256, 40)
    y = A(x)
    net = ur.unroll(landweber, layers=10, learn=["step"])
    classical = (landweber.run(y, A, iterations=10) - x).square().mean()
    assert torch.allclose(net(y, A), landweber.run(y, A, iterations=10))  # a layer is an iteration

    opt = torch.optim.Adam(net.parameters(), lr=5e-2)
    for _ in range(200):
        loss = (net(y, A) - x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"10 Landweber iterations, step 0.5:  MSE {classical:.4f}")
    print(f"10 layers with learned steps:      MSE {loss.item():.4f}")
    print("learned steps:", [round(s, 3) for s in net.param_values()["step"].tolist()])


if __name__ == "__main__":
    main()
