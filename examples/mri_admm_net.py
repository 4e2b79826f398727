"""Imaging: ADMM-Net (830 learned numbers) for single-coil MRI at 4x, against the zero-filled
image and the untrained network, which is classical ADMM with a DCT filter bank.

python examples/mri_admm_net.py

The problem measures random 32x32 patches of the bundled training images on the fly, each with
its own random-lines mask; the test set is the held-out images. The benchmark trains for about
3 minutes on 256x256 images (`docs/guide/imaging.md`); this runs for 5 s.
"""

import torch

import unrolled as ur
from unrolled.data import MRIReconstruction
from unrolled.metrics import psnr
from unrolled.train import fit


def main() -> None:
    torch.manual_seed(0)
    problem = MRIReconstruction(size=32, acceleration=4, validation_size=8)
    x, y, A = problem.test  # x (6, 32, 32) complex images, y their k-space, A one mask each
    net = ur.create("admm-net", operator=A, layers=5)  # untrained: ADMM

    def score(x_hat: torch.Tensor) -> float:
        return psnr(x_hat, x).item()  # on magnitudes, data range 1

    with torch.no_grad():
        zero_filled, untrained = score(A.H(y)), score(net(y, A))
    fit(net, problem, max_steps=40, progress=False)  # ADMM-Net's recipe, 40 steps of it
    with torch.no_grad():
        trained = score(net(y, A))
    print(f"zero-filled           PSNR {zero_filled:.2f} dB")
    print(f"ADMM, 5 iterations    PSNR {untrained:.2f} dB")
    print(f"ADMM-Net, 5 stages    PSNR {trained:.2f} dB")


if __name__ == "__main__":
    main()
