"""The process group: who am I (rank), how many are we (world size), and how a failure ends the job.

``init_process_group()`` reads the rank and size from MPI when the script was started by an MPI launcher
(``mpiexec -n 4 python train.py``); started alone, it is a group of one and every collective is the
identity, so the same script runs with or without MPI. mpi4py is imported only under a launcher.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

# Environment variables an MPI launcher sets in each process it starts (MPICH/Hydra, Open MPI, PMIx, Slurm's
# PMI, MVAPICH, Intel MPI). None of them set: not launched by MPI, a group of one.
_LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
                  "MPI_LOCALNRANKS", "I_MPI_HYDRA_HOST")

DEFAULT_TIMEOUT = 300.0     # seconds a collective may wait for the other ranks before the job is aborted


class DistributedError(RuntimeError):
    """A collective failed: another rank is gone, stuck, or disagrees (shapes, dtypes, model)."""


class DistributedTimeoutError(DistributedError):
    """A collective waited longer than the group's timeout for the other ranks."""


class _Group:
    """The world: ``rank``, ``size``, the MPI communicator (None for a group of one) and the timeout."""

    def __init__(self, comm, rank, size, timeout):
        self.comm, self.rank, self.size, self.timeout = comm, rank, size, timeout

    def wait(self, request, what):
        """Wait for a non-blocking MPI request, polling, for at most ``self.timeout`` seconds: a rank that
        died or hangs then ends the job with an error instead of a hang forever."""
        deadline, spins = time.monotonic() + self.timeout, 0
        while not request.Test():
            spins += 1
            if spins > 200:                # after a short spin, yield the core to the other ranks
                time.sleep(0.0002)
            if time.monotonic() > deadline:
                others = f"rank {1 - self.rank}" if self.size == 2 else "the other ranks"
                raise DistributedTimeoutError(
                    f"{what} waited {self.timeout:g} s for {others} (failed, killed or stuck); raise "
                    f"$MINIGRAD_DIST_TIMEOUT if a step really takes that long")


_group: _Group | None = None


def launched_by_mpi() -> bool:
    """True when this process was started by an MPI launcher (mpiexec, mpirun, srun)."""
    return any(v in os.environ for v in _LAUNCHER_VARS)


def init_process_group(backend="mpi", timeout=None):
    """Join the group of processes of this job; returns nothing (as ``torch.distributed``).

    ``backend``: ``'mpi'`` (host memory over MPI; CUDA tensors go over NCCL when CuPy has it, see
    ``minigrad.distributed.nccl``). ``timeout``: seconds a collective may wait (default
    ``$MINIGRAD_DIST_TIMEOUT`` or 300), a number or a ``datetime.timedelta``. Calling it again is a no-op.
    Under a launcher it installs an exception hook: an exception no one catches on any rank prints
    ``rank R of N failed`` with its traceback and aborts every rank of the job (MPI_Abort).
    Differences from PyTorch: no ``init_method``/``store``/``world_size``/``rank`` arguments; MPI's
    launcher gives them. Without a launcher (or with one process) it is a group of one.
    """
    global _group
    if _group is not None:
        return
    if backend not in ("mpi", "nccl"):
        raise ValueError(f"init_process_group: unknown backend {backend!r}: expected 'mpi' (or 'nccl' for "
                         f"CUDA tensors, which also runs on MPI)")
    if timeout is None:
        timeout = float(os.environ.get("MINIGRAD_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    timeout = float(getattr(timeout, "total_seconds", lambda: timeout)())
    if not timeout > 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds, got {timeout}")
    if not launched_by_mpi():
        _group = _Group(None, 0, 1, timeout)
        return
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"this process was started by an MPI launcher, but mpi4py cannot be imported ({e}); "
                          f"install it with `pip install minigrad[distributed]` (mpi4py and mpich)") from None
    comm = MPI.COMM_WORLD
    _group = _Group(comm, comm.Get_rank(), comm.Get_size(), timeout)
    if _group.size > 1:
        sys.excepthook = _abort_on_exception


def destroy_process_group():
    """Leave the group (the next ``init_process_group`` starts again); MPI itself finalizes at exit."""
    global _group
    if _group is not None and sys.excepthook is _abort_on_exception:
        sys.excepthook = sys.__excepthook__
    _group = None


def is_initialized() -> bool:
    return _group is not None


def is_available() -> bool:
    """True: a group of one always works; several processes need mpi4py (``pip install minigrad[distributed]``)."""
    return True


def group() -> _Group:
    """The current group (a group of one when ``init_process_group`` was not called)."""
    return _group if _group is not None else _Group(None, 0, 1, DEFAULT_TIMEOUT)


def get_rank() -> int:
    return group().rank


def get_world_size() -> int:
    return group().size


def abort(message, code=1):
    """Print ``message`` naming this rank and end every process of the job (MPI_Abort) at once."""
    g = group()
    print(f"minigrad.distributed: rank {g.rank} of {g.size} failed: {message}; aborting all {g.size} ranks",
          file=sys.stderr, flush=True)
    if g.comm is not None and g.size > 1:
        sys.stdout.flush()
        time.sleep(0.3)       # let the launcher relay this rank's last lines before MPI_Abort ends it
        g.comm.Abort(code)
    sys.exit(code)


def _abort_on_exception(kind, value, tb):
    traceback.print_exception(kind, value, tb)
    abort(f"{kind.__name__}: {value}")


class abort_on_error:
    """``with abort_on_error():`` an exception (not Ctrl-C) on any rank of a job of several ends the whole
    job at once: one line ``minigrad: error: rank R of N failed: ...`` (with ``debug`` the traceback too),
    then MPI_Abort, so the other ranks never wait for it. Alone, the exception passes through unchanged."""

    def __init__(self, debug=False):
        self.debug = debug

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None or not issubclass(kind, Exception) or group().size == 1:
            return False
        if self.debug:
            traceback.print_exception(kind, value, tb)
        abort(" ".join(str(value).split()) or kind.__name__)
