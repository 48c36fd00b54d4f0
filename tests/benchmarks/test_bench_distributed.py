"""The distributed benchmark runs end to end in its --quick smoke mode (1 and 2 ranks under mpiexec)."""
import os
import runpy
import shutil

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_distributed.py")


def test_bench_distributed_quick(capsys):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install minigrad[distributed])")
    if shutil.which("mpiexec") is None:
        pytest.skip("mpiexec is not on PATH (pip install mpich)")
    rows = runpy.run_path(BENCH)["main"](["--quick"])
    out = capsys.readouterr().out
    assert "efficiency" in out and "lenet5" in out
    assert [r[1] for r in rows] == [1, 2] and all(r[2] > 0 for r in rows)
    assert rows[0][5] == 0 and rows[1][5] > 0          # no allreduce alone, some on 2 ranks
