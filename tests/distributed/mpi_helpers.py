"""Run a Python script on several MPI ranks from a test (``mpiexec -n 2``), skipping cleanly where mpi4py or
mpiexec is missing. The scripts import the minigrad of this checkout."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mpiexec():
    """The mpiexec to use, or skip the test."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install minigrad[distributed])")
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec is not on PATH (pip install mpich)")
    return exe


def run_mpi(code, tmp_path, n=2, timeout=180, args=(), env=None, check=True, launcher_args=(), rank_dirs=None):
    """Run ``code`` (a script's text) on ``n`` ranks with cwd ``tmp_path`` (``launcher_args`` go to
    mpiexec), or rank r in ``rank_dirs[r]``; returns the CompletedProcess.
    With ``check`` a non-zero exit fails the test showing the ranks' output."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    full_env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", **(env or {})}
    command = [sys.executable, str(script), *args]
    if rank_dirs is None:
        ranks = ["-n", str(n), *command]
    else:           # MPMD: one section per rank, each with its own working directory
        assert len(rank_dirs) == n, (n, rank_dirs)
        ranks = [a for r, d in enumerate(rank_dirs) for a in ([":"] if r else []) + ["-n", "1", "-wdir", str(d), *command]]
    proc = subprocess.run([mpiexec(), *launcher_args, *ranks], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"mpiexec -n {n} exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc
