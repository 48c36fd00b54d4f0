"""CUDA arrays between GPUs over NCCL (CuPy's ``cupy.cuda.nccl``), with the unique id broadcast over MPI.

One NCCL communicator per process is made the first time a CuPy array is reduced: rank 0 draws NCCL's
unique id, MPI broadcasts it, and every rank joins with its rank on its current GPU (start one rank per
GPU: ``CUDA_VISIBLE_DEVICES`` per rank, or ``minigrad.cuda.set_device(local_rank)``). Where CuPy has no
NCCL (or it fails to start), ``allreduce`` returns False and the caller goes through host memory and MPI.
Nothing here imports CuPy before a CuPy array is seen; this path has not been run on a real GPU.
"""
from __future__ import annotations

from .group import group

_comm = None          # the NcclCommunicator, False when NCCL is not usable here
_why_not = None       # why not


def _communicator():
    global _comm, _why_not
    if _comm is None:
        g = group()
        try:
            from cupy.cuda import nccl
            uid = nccl.get_unique_id() if g.rank == 0 else None
            uid = g.comm.bcast(uid, root=0)
            _comm = nccl.NcclCommunicator(g.size, uid, g.rank)
        except Exception as e:      # no NCCL in this CuPy, or it could not start: host fallback
            _comm, _why_not = False, e
    return _comm or None


_NCCL_OPS = {"sum": "NCCL_SUM", "mean": "NCCL_SUM", "avg": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}
_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
               "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8"}


def allreduce(a, op):
    """All-reduce the contiguous CuPy array ``a`` in place over NCCL; False when NCCL cannot (then the
    caller uses host MPI)."""
    comm = _communicator()
    if comm is None or str(a.dtype) not in _NCCL_TYPES or not a.flags.c_contiguous:
        return False
    from cupy.cuda import nccl, stream
    comm.allReduce(a.data.ptr, a.data.ptr, a.size, getattr(nccl, _NCCL_TYPES[str(a.dtype)]),
                   getattr(nccl, _NCCL_OPS[op]), stream.get_current_stream().ptr)
    if op in ("mean", "avg"):
        a /= group().size
    return True


def status():
    """'nccl' when CUDA arrays go over NCCL, else a line saying why they go through host memory."""
    if _comm:
        return "nccl"
    return "host MPI" + (f" ({_why_not!r})" if _why_not is not None else " (no CUDA array reduced yet)")
