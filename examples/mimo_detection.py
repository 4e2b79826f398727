"""MIMO detection: OAMP-Net2 (OAMP with four learned scalars per layer) against MMSE, OAMP and
exact maximum likelihood on a 4x4 QPSK system.

python examples/mimo_detection.py

The benchmark (`docs/guide/mimo.md`) trains for minutes and counts errors to SER 1e-3; this
trains for 150 steps and counts symbol errors on the problem's test set.
"""

import torch

import unrolled as ur
from unrolled.data import MIMODetection
from unrolled.train import fit


def main() -> None:
    torch.manual_seed(0)
    # 4 receive, 4 transmit antennas; a fresh Rayleigh channel and SNR in 10-20 dB per sample
    problem = MIMODetection(4, 4, "qpsk", snr_db=(10.0, 20.0), validation_size=500, test_size=4000)
    net = ur.create("oamp-net2", operator=problem.operator, layers=6)  # untrained: OAMP
    fit(net, problem, loss="mse", lr=1e-2, batch_size=256, max_steps=150, progress=False)

    x, y, H = problem.test  # x (4000, 4) symbols, y (4000, 4), H one channel per sample
    sent = problem.indices(x)
    qam = problem.constellation

    def ser(indices: torch.Tensor) -> float:
        return (indices != sent).float().mean().item()

    with torch.no_grad():
        results = {
            "MMSE": ser(qam.nearest(ur.comms.mmse(y, H))),
            "OAMP, 6 iterations": ser(
                problem.indices(ur.algorithms.OAMP(qam).run(y, H, iterations=6))
            ),
            "OAMP-Net2, 6 layers": ser(problem.indices(net(y, H))),
            "ML (exhaustive)": ser(ur.comms.maximum_likelihood(y, H, qam)),
        }
    for name, value in results.items():
        print(f"{name:20s} SER {value:.4f}")


if __name__ == "__main__":
    main()
