"""Data parallelism through torchrun (`unrolled.train.distributed`), on the CPU with Gloo: two
processes train as one process does on the same global batches, end with identical weights,
and a two-process run stopped mid-way resumes to the same result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import unrolled as ur
from tests.train import ddp_worker as worker
from unrolled.train import Distributed
from unrolled.train.distributed import launched

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="this PyTorch has no torch.distributed"
)


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["GLOO_SOCKET_IFNAME"] = "lo"  # one machine: Gloo on the loopback interface
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


class TwoStreams:
    """The problem as one process sees two ranks' data: each batch is rank 0's half (the
    problem's own stream) followed by rank 1's (the stream reseeded ``initial_seed + 1``)."""

    def __init__(self) -> None:
        self.parts = [worker.problem(), worker.problem()]
        g = self.parts[1].generator
        g.manual_seed(g.initial_seed() + 1)

    def sample(self, batch: int):
        draws = [p.sample(batch // 2) for p in self.parts]
        return tuple(torch.cat(t) for t in zip(*draws, strict=True))

    def __getattr__(self, name: str):
        return getattr(self.parts[0], name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """One torchrun job of two processes (the worker): `unrolled train` on the config, then
    the same run interrupted at step 6 and resumed."""
    root = tmp_path_factory.mktemp("ddp")
    config = {
        "model": worker.MODEL,
        "problem": {"name": "sparse_coding", **worker.PROBLEM},
        "train": worker.TRAIN,
        "run_dir": str(root / "cli"),
    }
    (root / "run.yaml").write_text(yaml.safe_dump(config))
    (root / "resumed").mkdir()
    job = torchrun(str(Path(worker.__file__)), str(root), cwd=root)
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.stdout.count("Final validation NMSE") == 1  # rank 0 alone reports
    return root


def test_ranks_end_identical_and_equal_to_one_process(runs):
    ranks = [load_file(runs / "resumed" / f"rank{r}.safetensors") for r in (0, 1)]
    net = worker.train(TwoStreams(), worker.model(worker.problem()))
    for name, value in net.state_dict().items():
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-5, atol=1e-6)


def test_a_resumed_two_process_run_ends_where_an_uninterrupted_one_does(runs):
    net = worker.model(worker.problem())
    ur.train.load_weights(net, runs / "cli")
    resumed = load_file(runs / "resumed" / "rank0.safetensors")
    for name, value in net.state_dict().items():
        assert torch.equal(resumed[name], value), name
    metrics = ur.train.read_metrics(runs / "cli")
    assert metrics[-1]["step"] == worker.TRAIN["max_steps"]


def test_resuming_on_another_number_of_processes_is_refused(runs):
    with pytest.raises(ValueError, match=r"resume: .*2 process\(es\), this one has 1"):
        worker.train(worker.problem(), worker.model(worker.problem()), resume=runs / "cli")


def test_batch_size_must_split_over_the_processes():
    group = Distributed.__new__(Distributed)
    group.world = 3
    with pytest.raises(ValueError, match=r"batch_size: expected a multiple of the 3 processes"):
        group.local_batch(64)
    assert group.local_batch(63) == 21


def test_launched_reads_torchrun_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert launched()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not launched()
    monkeypatch.delenv("WORLD_SIZE")
    assert not launched()


def test_each_rank_reseeds_a_problem_stream_once():
    group = Distributed.__new__(Distributed)
    group.rank, group.world = 1, 2
    p = worker.problem()
    start = p.generator.initial_seed()
    group.seed_stream(p)
    group.seed_stream(p)  # a second fit on the same problem goes on with its stream
    assert p.generator.initial_seed() == start + 1
    q = worker.problem()
    group.rank = 0
    group.seed_stream(q)
    assert q.generator.initial_seed() == start
