"""fit's defences against bad data and bad scores (issue 22): NaN/Inf rejected at the boundary,
a NaN validation an error rather than a score."""

import pytest
import torch

import unrolled as ur
from tests.train.test_fit import RUN_FILES, setup
from unrolled.train import fit, load_weights
from unrolled.train.checkpoint import RunError, RunWarning


class Poisoned:
    """A problem whose validation measurements or batches hold a NaN (the probe's defect: with
    one NaN in the validation y, training ended at its initial weights without a word)."""

    def __init__(self, problem, validation=False, batch=False):
        self.problem, self.poison_validation, self.poison_batch = problem, validation, batch
        self.operator, self.metric = problem.operator, problem.metric

    @property
    def validation(self):
        x, y = self.problem.validation
        if self.poison_validation:
            y = y.clone()
            y[3, 0] = torch.nan
        return x, y

    def sample(self, batch):
        x, y = self.problem.sample(batch)
        if self.poison_batch:
            y = y.clone()
            y[0, 1] = torch.inf
        return x, y


def test_nan_in_the_validation_set_is_refused_before_training(tmp_path):
    net, problem = setup()
    with pytest.raises(
        ValueError,
        match=r"problem.validation: y: .* NaN or Inf in 1 of 64 samples \(the first: sample 3\); pass check_finite=False",
    ):
        fit(net, Poisoned(problem, validation=True), "end-to-end", max_steps=5, run_dir=tmp_path)
    assert not (tmp_path / "state.safetensors").exists()


def test_a_nan_score_stops_training_instead_of_ranking_best(tmp_path):
    net, problem = setup()
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(
        FloatingPointError,
        match=r"validation at step 0 \(stage 1/1: all layers\): the network's output is NaN or Inf on 1 of 64 validation samples",
    ):
        fit(
            net,
            Poisoned(problem, validation=True),
            "end-to-end",
            max_steps=60,
            run_dir=tmp_path,
            check_finite=False,
        )
    for name, value in net.state_dict().items():  # nothing trained on a score of NaN
        assert torch.equal(value, initial[name]), name


def test_a_network_turning_nan_mid_run_stops_at_that_evaluation(tmp_path):
    net, problem = setup()

    def poison(info):
        if info["step"] == 12:
            with torch.no_grad():
                net.params["threshold"][1] = torch.nan  # the loss is checked: NaN from step 13

    with pytest.raises(FloatingPointError, match=r"at step 13"):
        fit(
            net,
            problem,
            "end-to-end",
            max_steps=40,
            eval_every=5,
            checkpoint_every=10,
            run_dir=tmp_path,
            callback=poison,
        )
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES
    fresh, _ = setup()
    load_weights(fresh, tmp_path)  # the checkpoint of step 10, finite
    assert all(torch.isfinite(v).all() for v in fresh.state_dict().values())


def test_the_first_batch_is_checked(tmp_path):
    net, problem = setup()
    with pytest.raises(
        ValueError,
        match=r"problem.sample \(the batch of step 1\): y: .* 1 of 64 samples \(the first: sample 0\)",
    ):
        fit(net, Poisoned(problem, batch=True), "end-to-end", max_steps=5)
    net, problem = setup()
    with pytest.raises(TypeError, match="check_finite: expected a bool"):
        fit(net, problem, "end-to-end", max_steps=5, check_finite="no")


def _flip(path, offset=-200, count=50):
    data = bytearray(path.read_bytes())
    for i in range(count):
        data[offset + i] ^= 0xFF
    path.write_bytes(bytes(data))


def _trained(tmp_path, steps=20):
    net, problem = setup()
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=steps, checkpoint_every=10)
    return net


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    """The probe's defect: 50 flipped bytes in state.safetensors resumed without a word and
    trained to +35 dB. Now the checksum catches it and the previous checkpoint takes over."""
    reference, problem = setup()
    fit(reference, problem, "end-to-end", max_steps=40, checkpoint_every=10)
    net, problem = setup()
    with pytest.raises(Exception, match="kill"):

        def kill(info):
            if info["step"] == 25:
                raise RuntimeError("kill")

        fit(
            net,
            problem,
            "end-to-end",
            run_dir=tmp_path,
            max_steps=40,
            checkpoint_every=10,
            callback=kill,
        )
    _flip(tmp_path / "state.safetensors")
    resumed, problem = setup()
    with pytest.warns(
        RunWarning,
        match=r"state.safetensors does not match the checksum .* state.prev.safetensors \(step 10\)",
    ):
        fit(resumed, problem, "end-to-end", resume=tmp_path, max_steps=40, checkpoint_every=10)
    for name, value in resumed.state_dict().items():  # replayed from step 10: the same run
        assert torch.equal(value, reference.state_dict()[name]), name


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "empty", "pickle"],
)
def test_damaged_weights_are_named_never_read(damage, tmp_path):
    import pickle

    _trained(tmp_path)
    for name in ("weights.safetensors", "weights.prev.safetensors"):
        path = tmp_path / name
        if damage == "flip":
            _flip(path)
        elif damage == "truncate":
            path.write_bytes(path.read_bytes()[:100])
        elif damage == "empty":
            path.write_bytes(b"")
        else:
            path.write_bytes(pickle.dumps({"step": 1}))
    fresh, _ = setup()
    with pytest.raises(
        RunError, match=r"weights.safetensors: does not match the SHA-256 .* train the run again"
    ):
        load_weights(fresh, tmp_path)


def test_without_checksums_a_damaged_file_is_still_named(tmp_path):
    _trained(tmp_path)
    (tmp_path / "checkpoint.json").unlink()  # as a run written before checksums
    (tmp_path / "weights.safetensors").write_bytes(b"\x00" * 10)
    fresh, _ = setup()
    with pytest.raises(RunError, match=r"weights.safetensors: not a readable safetensors file"):
        load_weights(fresh, tmp_path)


def test_a_state_missing_a_field_or_with_a_negative_step_is_refused(tmp_path):
    import json

    from unrolled.train.checkpoint import load_tensors, save_tensors

    _trained(tmp_path)
    (tmp_path / "checkpoint.json").unlink()
    path = tmp_path / "state.safetensors"
    tensors, meta = load_tensors(path)
    state = json.loads(meta["state"])
    for change, message in [
        (lambda s: s.pop("position"), "holds no position object"),
        (lambda s: s["position"].pop("step"), r"missing or unknown fields \['step'\]"),
        (lambda s: s["position"].update(step=-5), "step=-5"),
        (lambda s: s.pop("optimizer"), "no optimiser record"),
    ]:
        broken = json.loads(json.dumps(state))
        change(broken)
        save_tensors(path, tensors, {"state": json.dumps(broken)})
        net, problem = setup()
        with pytest.raises(RunError, match=message):
            fit(net, problem, "end-to-end", resume=tmp_path, max_steps=20, checkpoint_every=10)


def test_another_models_weights_are_named(tmp_path):
    _trained(tmp_path)
    net, _ = setup(layers=3)
    with pytest.raises(RunError, match="holds the weights of another model than Unrolled"):
        load_weights(net, tmp_path)


def test_one_writer_per_run_directory(tmp_path):
    """The probe's defect: two trainings into one directory both exited 0, its config from one
    run and its weights from the other. The second now stops, naming the first's PID."""
    import os

    from unrolled.train.lock import run_lock

    net, problem = setup()
    with run_lock(tmp_path):
        with run_lock(tmp_path):  # re-entrant within one process (unrolled train, then fit)
            pass
        code = (
            "import sys; from unrolled.train.lock import run_lock\n"
            "try:\n    run_lock(sys.argv[1]).__enter__()\n"
            "except BlockingIOError as e:\n    print(e)\n"
        )
        import subprocess
        import sys

        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
        ).stdout
        assert f"is being written by process {os.getpid()}" in out
    fit(net, problem, "end-to-end", run_dir=tmp_path, max_steps=3)  # released: it trains


def test_a_failed_start_leaves_nothing_behind(tmp_path):
    """The probe's defect: a batch that failed after step 0 was written stranded the run
    ('already holds a run', and --resume refused the changed batch). Now a batch that cannot
    fit is refused before any allocation, and any start that fails before its first step is
    undone."""
    net, problem = setup()
    run = tmp_path / "run"
    with pytest.raises(ValueError, match=r"batch_size: 1000000000000 samples need at least .* GiB"):
        fit(net, problem, "end-to-end", run_dir=run, max_steps=3, batch_size=10**12)
    assert not run.exists()

    class Failing:
        def __init__(self, problem):
            self.operator, self.metric = problem.operator, problem.metric
            self.validation = problem.validation

        def sample(self, batch):
            raise MemoryError("no room")

    with pytest.raises(MemoryError):
        fit(net, Failing(problem), "end-to-end", run_dir=run, max_steps=3)
    assert not run.exists()
    fit(net, problem, "end-to-end", run_dir=run, max_steps=3)  # no --resume, no rm needed
    assert (run / "checkpoint.json").is_file()


def test_a_model_built_for_another_problem_is_named():
    from unrolled.data import SparseCoding

    net, _ = setup()  # on a 20x40 operator
    with pytest.raises(
        ValueError,
        match=r"model: built on an operator from \(40,\) to \(20,\), but the problem's operator maps \(60,\) to \(30,\)",
    ):
        fit(net, SparseCoding(m=30, n=60), "end-to-end", max_steps=2)


def test_an_imaging_problem_too_small_to_score_is_refused():
    from unrolled.data import MRIReconstruction

    for size in (4, 10**6):
        with pytest.raises(ValueError, match=r"size: expected 11 to 4096 pixels a side"):
            MRIReconstruction(size=size)


def test_a_non_finite_channel_in_a_batch_is_refused():
    from unrolled.data import MIMODetection

    problem = MIMODetection(4, 4, "qpsk", validation_size=16, test_size=8)
    net = ur.create("oamp-net2", operator=problem.validation[2], layers=2)

    class Faded:
        operator, metric, validation = problem.operator, problem.metric, problem.validation

        def sample(self, batch):
            x, y, A = problem.sample(batch)
            A.M[1, 0, 0] = torch.nan
            return x, y, A

    with pytest.raises(ValueError, match=r"problem.sample \(the batch of step 1\): A: .* 1 of"):
        fit(net, Faded(), "end-to-end", max_steps=2)
