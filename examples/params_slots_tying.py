"""Params, slots, tying and backprop modes on one library algorithm (ISTA).

python examples/params_slots_tying.py

Every network below starts as the classical algorithm; they differ in what is learned, whether
layers share it, and how gradients are computed.
"""

import torch
from torch import nn

import unrolled as ur


class Shrink(nn.Module):
    """A learnable replacement for ISTA's prox slot: ``prox(v, tau) -> x``, here a soft
    threshold with a learned per-feature scale of ``tau`` (starts as the soft threshold)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n))

    def forward(self, v: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        return torch.sign(v) * torch.relu(v.abs() - self.scale * tau)


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def main() -> None:
    torch.manual_seed(0)
    A = ur.Matrix(torch.randn(30, 60) / 30**0.5)  # the forward model, (30, 60)
    x = torch.randn(8, 60) * (torch.rand(8, 60) < 0.1)  # sparse signals, batch first
    y = A(x)
    classical = ur.algorithms.ISTA().run(y, A, iterations=10)

    nets = {
        # params: one step and one threshold per layer, stacked as (10,) tensors
        "per layer": ur.unroll(ur.algorithms.ISTA, 10, learn=["step", "threshold"], operator=A),
        # tying: one step shared by every layer, thresholds still per layer
        "step tied": ur.unroll(
            ur.algorithms.ISTA, 10, learn=["step", "threshold"], tied=["step"], operator=A
        ),
        # slots: a module per layer (a factory k -> module) replaces the prox
        "prox replaced": ur.unroll(
            ur.algorithms.ISTA, 10, learn=["step"], replace={"prox": lambda k: Shrink(60)}
        ),
        # backprop: recompute each layer in the backward pass instead of storing activations
        "checkpointed": ur.unroll(
            ur.algorithms.ISTA, 10, learn=["step", "threshold"], operator=A, backprop="checkpoint"
        ),
    }
    grads = {}
    for name, net in nets.items():
        x_hat = net(y, A)
        assert torch.allclose(x_hat, classical, atol=1e-5)  # untrained: 10 ISTA iterations
        (x_hat - x).square().mean().backward()
        grads[name] = [p.grad for p in net.parameters()]
        print(f"{name:14s} {count(net):5d} learned numbers", list(net.param_values()))
    for full, recomputed in zip(grads["per layer"], grads["checkpointed"], strict=True):
        assert torch.allclose(full, recomputed)  # the same gradients, less memory
    print("checkpointed backprop gives the same gradients as full backprop")


if __name__ == "__main__":
    main()
