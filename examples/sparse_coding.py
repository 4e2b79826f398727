"""Sparse coding: ALISTA trained by its own recipe, against ISTA and FISTA layer by layer.

python examples/sparse_coding.py

`fit(model, problem)` with no training argument follows the model's registered recipe (schedule,
rates, batch, support selection from the data's sparsity); here only the time budget is given.
The benchmark gives it 150 s on 250x500 (`docs/guide/sparse-coding.md`); this runs for 5 s.
"""

import torch

import unrolled as ur
from unrolled.data import SparseCoding
from unrolled.metrics import nmse_db_per_layer
from unrolled.train import fit


def main() -> None:
    torch.manual_seed(0)
    problem = SparseCoding(100, 200, sparsity=0.1)  # A 100x200, x Bernoulli(0.1)-Gaussian
    net = ur.create("alista", operator=problem.operator, layers=6)
    # the recipe (layer-wise, support selection from p = 0.1); a budget in steps, so that the
    # result is the same on every machine (max_seconds=150 is what the benchmark gives it)
    fit(net, problem, max_steps=100, progress=False)

    x, y = problem.test  # (1000, 200) signals, (1000, 100) measurements
    A = problem.operator
    with torch.no_grad():
        _, learned = net(y, trace=True)  # (6, 1000, 200): the estimate after every layer
    _, ista = ur.algorithms.ISTA().run(y, A, iterations=6, trace=True)  # lambda 0.1, step 1/L
    _, fista = ur.algorithms.FISTA().run(y, A, iterations=6, trace=True)
    rows = [nmse_db_per_layer(t, x).tolist() for t in (learned, ista, fista)]
    print("layer  ALISTA    ISTA   FISTA   (test NMSE, dB)")
    for k, values in enumerate(zip(*rows, strict=True)):
        print(f"{k + 1:5d} " + " ".join(f"{v:7.1f}" for v in values))


if __name__ == "__main__":
    main()
