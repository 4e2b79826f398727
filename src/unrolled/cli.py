"""The ``unrolled`` command.

``unrolled demo``: what unrolling buys on the LISTA benchmark, in about a minute on a CPU.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from .core import get, kind_of, list_models, recipe_of
from .core.registry import KINDS
from .demos import TASKS
from .metrics import Metric
from .train.device import PRECISIONS, resolve_device
from .train.distributed import rank


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative int, got {text!r}")
    return value


def _add_device_arguments(parser: argparse.ArgumentParser, training: bool = True) -> None:
    """``--device`` (and, for commands that train, ``--precision`` and ``--compile``)."""
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        default=None,
        help="auto (a CUDA GPU when present, else the CPU), cpu, cuda or cuda:N (default: "
        + ("the config's train.device, else auto)" if training else "cpu)"),
    )
    if not training:
        return
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="fp32, bf16 (CPU or GPU) or fp16 (GPU): the forward under autocast, the loss in "
        "fp32 (default: the config's train.precision, else fp32)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        default=None,
        help="compile the training step with torch.compile (CUDA graphs on a GPU)",
    )


def _device_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The device settings given on the command line, checked (the device exists here)."""
    given = {k: getattr(args, k, None) for k in ("device", "precision", "compile")}
    given = {k: v for k, v in given.items() if v is not None}
    if "device" in given:
        try:
            resolve_device(given["device"])
        except ValueError as e:
            raise ValueError(f"--{e}") from None
    return given


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unrolled",
        description="Algorithmic unrolling (deep unfolding): iterative algorithms as trainable "
        "PyTorch networks.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train ALISTA on sparse coding and compare it with ISTA and FISTA, per layer",
        description=_demo_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--task",
        choices=TASKS,
        default="sparse",
        help="sparse (default): ALISTA vs ISTA/FISTA; mri: MoDL's shipped weights on 8-coil 4x "
        "MRI of held-out brain slices vs zero-filling, CG-SENSE and TV; ct: learned primal-dual's "
        "shipped weights on 30-angle low-dose CT vs filtered back-projection and TV; pet: "
        "em-net's shipped weights on emission tomography vs FBP, MLEM, OSEM and MAP-EM; "
        "deblur: USRNet-style HQS on motion blur (the imaging tasks draw a before/after "
        "figure); mimo: OAMP-Net2 on 4x4 QPSK, SER against MMSE, OAMP and ML; recsys: unrolled "
        "soft-impute and ALS on MovieLens-100K, RMSE against their classical algorithms",
    )
    demo.add_argument(
        "--seconds",
        type=_non_negative_float,
        default=None,
        help="training time (default: 150; mri, ct, pet: 0, their weights ship with the package, "
        "and SECONDS > 0 fine-tunes them first)",
    )
    demo.add_argument("--layers", type=_positive(int), default=16, help="depth (default: 16)")
    demo.add_argument("--seed", type=_non_negative_int, default=0, help="data seed (default: 0)")
    demo.add_argument(
        "--batch",
        type=_positive(int),
        default=None,
        help="sparse: training batch size (default: ALISTA's recipe, see `unrolled list`)",
    )
    demo.add_argument(
        "--lr",
        type=_positive(float),
        default=None,
        help="sparse: Adam learning rate (default: ALISTA's recipe)",
    )
    demo.add_argument(
        "--run-dir",
        default=None,
        help="where the run and its figures go (default: runs/demo/TASK; a demo run already "
        "there is replaced)",
    )
    demo.add_argument(
        "--max-iterations",
        type=_positive(int),
        default=20000,
        help="most ISTA/FISTA iterations tried to match the network (default: 20000)",
    )
    # Problem size, for quick runs (tests); the demo's problem is the LISTA benchmark's.
    demo.add_argument("--m", type=_positive(int), default=250, help=argparse.SUPPRESS)
    demo.add_argument("--n", type=_positive(int), default=500, help=argparse.SUPPRESS)
    demo.add_argument("--test-size", type=_positive(int), default=1000, help=argparse.SUPPRESS)
    _add_device_arguments(demo)
    demo.set_defaults(run=demo_command)
    listing = commands.add_parser(
        "list",
        help="list the registered algorithms, models, operators, priors, blocks and problems",
        description="List every registered name (algorithms, models, operators, priors, blocks, "
        "training problems) with its kind and a one-line description; under each model its "
        "training recipe, under each problem its metric.",
    )
    listing.add_argument("--kind", choices=KINDS, help="only one kind of registered name")
    listing.set_defaults(run=list_command)
    _add_train_parser(commands)
    _add_eval_parser(commands)
    return parser


def _demo_description() -> str:
    return (
        "Sparse coding y = A x (A: 250x500 Gaussian with unit-norm columns, x: 10% non-zero "
        "N(0, 1) entries, noiseless). ALISTA (Liu et al. 2019: an analytic weight, a step and a "
        "threshold learned per layer) trains layer by layer for SECONDS on fresh batches; then "
        "the test NMSE after each layer is printed next to ISTA and FISTA after as many "
        "iterations (both with the small l1 weight 1e-4, so that they can approach the network's "
        "accuracy at all), with how many of their iterations reach the network's final NMSE. "
        "The run directory gets the training run, nmse.png and report.md.\n\n"
        "--task mri loads the MoDL weights shipped with the package (trained on 8-coil 4x MRI "
        "of MNI152 brain slices; `unrolled.pretrained`) and reconstructs the held-out test "
        "slices, printing the mean PSNR next to zero-filling, CG-SENSE and TV-PDHG (their "
        "weights tuned on validation slices); RUN_DIR/mri.png shows one slice. --seconds S "
        "fine-tunes the weights for S seconds first. --task ct does the same with the learned "
        "primal-dual weights trained on 30-angle low-dose CT of ellipse phantoms, on "
        "Shepp-Logan and held-out phantoms, next to filtered back-projection (ramp, Hann) and "
        "TV-FISTA (RUN_DIR/ct.png). --task pet: em-net's weights (10 MLEM iterations with a learned "
        "prior, trained on emission tomography of ellipse phantoms, 60 angles, 1e5 counts) on "
        "held-out phantoms, by NRMSE, next to FBP and MLEM, OSEM and MAP-EM at their stops and "
        "weights tuned on validation phantoms (RUN_DIR/pet.png). --task deblur trains a USRNet-style HQS "
        "on motion-blurred patches; then a held-out image (camera) is shown as ground truth, "
        "measurement, the Wiener filter (its weight tuned on a training image) and the network, "
        "with PSNR in the titles (RUN_DIR/deblur.png).\n\n"
        "--task mimo trains OAMP-Net2 (10 layers) on 4x4 QPSK over i.i.d. Rayleigh channels at "
        "SNRs of 5-25 dB, then prints its symbol error rate at 5, 10, 15 and 20 dB next to MMSE, "
        "OAMP (the untrained network) and exact ML, all on the same samples.\n\n"
        "--task recsys tunes soft-impute and ALS on held-out training ratings of MovieLens-100K "
        "(fold 1 of 5; synthetic ratings when MovieLens is not installed, which it says), "
        "trains their unrolled networks for SECONDS/2 each, and prints test RMSE and MAE next "
        "to biased MF (SGD), the baseline biases and the global mean (RUN_DIR/recsys.json)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``unrolled`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    code: 0, 2 for an error (one line on stderr, never a traceback), 130 when interrupted."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except BrokenPipeError:  # `unrolled eval RUN | head`: the reader has what it wanted
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0


def _show_warning(message: Any, category: type, *_: Any, **__: Any) -> None:
    """A warning on one line of stderr, without the source line Python would print."""
    text = " ".join(str(message).split())
    print(f"unrolled: warning: {text}", file=sys.stderr)


def _add_train_parser(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train a registered model on a registered problem from a YAML config",
        description="Train the model a YAML config describes (sections: model, problem, train, "
        "run_dir; see configs/ for one per model) with unrolled.train.fit, writing the run "
        "directory (config.yaml, config.json, metrics.jsonl, weights.safetensors). Unknown or "
        "ill-typed keys are rejected with their name.",
    )
    train.add_argument("config", metavar="CONFIG.yaml", help="the run config (YAML)")
    train.add_argument(
        "--run-dir",
        metavar="DIR",
        help="where the run goes (default: the config's run_dir, else runs/<config name>)",
    )
    train.add_argument(
        "--max-seconds",
        metavar="S",
        type=_positive(float),
        help="training time budget; overrides train.max_seconds",
    )
    train.add_argument(
        "--max-steps",
        metavar="N",
        type=_positive(int),
        help="training step budget; overrides train.max_steps. Unlike a time budget it is "
        "reproducible: the same steps give the same weights (bitwise on a CPU)",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in the run directory (same config; with a step "
        "budget the result is bitwise that of an uninterrupted run on a CPU; a time budget "
        "stops wherever the clock says)",
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help="discard the run in the run directory (checkpoints, metrics, config) and train "
        "from the start",
    )
    _add_device_arguments(train)
    train.set_defaults(run=train_command)


def _add_eval_parser(commands: Any) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="per-layer test NMSE of a trained run, against ISTA and FISTA",
        description="Rebuild the problem and model of a run written by `unrolled train` from "
        "RUN_DIR/config.yaml, load its weights, and print the test-set NMSE (dB) after every "
        "layer (mean and median over the samples) next to ISTA's and FISTA's mean at the same "
        "number of iterations.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="a run directory")
    evaluate.add_argument(
        "--test-size",
        metavar="N",
        type=_positive(int),
        help="test samples (default: the config's problem.test_size)",
    )
    _add_device_arguments(evaluate, training=False)
    evaluate.set_defaults(run=eval_command)


#: Errors whose message says what was wrong; any other exception is reported with its type.
EXPECTED = (ValueError, TypeError, OSError, FloatingPointError)
#: The longest error line (a value echoed in full, e.g. a YAML alias bomb, is cut).
MAX_MESSAGE = 600


def _fail(command: str, error: BaseException) -> int:
    """Report ``error`` on one line of stderr; the exit code of a failed command (2)."""
    message = " ".join(str(error).split()) or type(error).__name__
    if not isinstance(error, EXPECTED):
        message = f"{type(error).__name__}: {message}"
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    print(f"unrolled {command}: error: {message}", file=sys.stderr)
    return 2


def train_command(args: argparse.Namespace) -> int:
    """``unrolled train CONFIG.yaml``: see `unrolled.runs.train_run`."""
    from .runs import train_run

    main = rank() == 0  # under torchrun, one process speaks
    try:
        overrides = _device_settings(args)
        if args.max_steps is not None:
            overrides["max_steps"] = args.max_steps
        result = train_run(
            args.config,
            args.run_dir,
            args.max_seconds,
            args.resume,
            log=(lambda line: print(line, flush=True)) if main else None,
            overrides=overrides,
            restart=args.restart,
        )
    except KeyboardInterrupt:
        print(
            "unrolled train: interrupted; continue with --resume (from the last checkpoint)",
            file=sys.stderr,
        )
        return 130
    except Exception as e:  # a CLI reports on one line, it does not print tracebacks
        return _fail("train", e)
    if not main:
        return 0
    print(f"Run: {result.run_dir}")
    print(
        f"Final validation {result.metric.label}: {result.metric.format(result.validation)} "
        f"(over {result.validation_size} validation samples, last layer)"
    )
    print(f"Evaluate it with: unrolled eval {result.run_dir}")
    return 0


def eval_command(args: argparse.Namespace) -> int:
    """``unrolled eval RUN_DIR``: see `unrolled.runs.evaluate`."""
    from .runs import evaluate, format_evaluation

    try:
        _device_settings(args)
        result = evaluate(args.run_dir, args.test_size, args.device or "cpu")
    except Exception as e:
        return _fail("eval", e)
    print(format_evaluation(result))
    return 0


def list_command(args: argparse.Namespace) -> int:
    """``unrolled list``: registered names, kinds and the first line of each docstring; under
    each model, its training recipe in one line."""
    names = list_models(args.kind)
    width = max((len(n) for n in names), default=4)
    for name in names:
        factory = get(name)
        paragraph = " ".join((inspect.getdoc(factory) or "").split("\n\n")[0].split())
        summary = paragraph.rstrip(":")
        if len(summary) > 100:
            summary = summary[:99].rstrip() + "…"
        print(f"{name:<{width}}  {kind_of(name):<9}  {summary}")
        recipe = recipe_of(name) if kind_of(name) == "model" else None
        if recipe is not None:
            print(f"{'':<{width}}  {'':<9}  recipe: {recipe.summary()}")
        metric = getattr(factory, "metric", None) if kind_of(name) == "problem" else None
        if isinstance(metric, Metric):
            direction = "higher" if metric.higher_is_better else "lower"
            print(f"{'':<{width}}  {'':<9}  metric: {metric.label}, {direction} is better")
        elif metric is not None:  # built per instance (MIMO's decides with its constellation)
            print(f"{'':<{width}}  {'':<9}  metric: {inspect.getdoc(metric)}")
    return 0


# -- demo ------------------------------------------------------------------------------------


def demo_command(args: argparse.Namespace) -> int:
    """``unrolled demo --task TASK``: see `unrolled.demos` and `_demo_description`."""
    from .demos import DEFAULT_DIR, DEFAULT_SECONDS, run_demo

    try:
        train = _device_settings(args)
        if args.seconds == 0 and args.task not in DEFAULT_SECONDS:
            raise ValueError(f"--seconds: expected > 0 for --task {args.task}, got 0")
        run_demo(
            args.task,
            args.seconds,
            args.run_dir or DEFAULT_DIR.format(task=args.task),
            seed=args.seed,
            train=train,
            **(
                {
                    "layers": args.layers,
                    "batch": args.batch,
                    "lr": args.lr,
                    "max_iterations": args.max_iterations,
                    "m": args.m,
                    "n": args.n,
                    "test_size": args.test_size,
                }
                if args.task == "sparse"
                else {}
            ),
        )
    except KeyboardInterrupt:
        print("unrolled demo: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        return _fail("demo", e)
    return 0


__all__ = ["main"]
