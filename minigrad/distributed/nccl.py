"""CUDA arrays between GPUs over NCCL (CuPy's ``cupy.cuda.nccl``, reached through ``minigrad.backend``),
with the unique id broadcast over MPI.

One NCCL communicator per process is made the first time a CuPy array is reduced: rank 0 draws NCCL's
unique id, MPI broadcasts it, and every rank joins with its rank on its current GPU (start one rank per
GPU, e.g. ``CUDA_VISIBLE_DEVICES`` set per rank, or ``--device cuda:LOCAL_RANK``). Where CuPy has no NCCL
(or it fails to start), ``allreduce`` returns False and the caller goes through host memory and MPI.
Nothing here imports CuPy; this path has been run with a stand-in for the NCCL binding, not on a GPU.
"""
from __future__ import annotations

from .. import backend
from .group import group

_comm = None          # the NcclCommunicator, False when NCCL is not usable here
_why_not = None       # why not

_OPS = {"sum": "NCCL_SUM", "mean": "NCCL_SUM", "avg": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}
_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
          "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8"}


def _communicator():
    global _comm, _why_not
    if _comm is None:
        g, binding = group(), backend.nccl()
        if binding is None:
            _comm, _why_not = False, "CuPy has no NCCL here"
        else:
            try:
                uid = binding.get_unique_id() if g.rank == 0 else None
                uid = g.comm.bcast(uid, root=0)
                _comm = binding.NcclCommunicator(g.size, uid, g.rank)
            except Exception as e:      # NCCL could not start: host fallback
                _comm, _why_not = False, repr(e)
    return _comm or None


def allreduce(a, op):
    """All-reduce the CuPy array ``a`` in place over NCCL; False when NCCL cannot (the caller then uses
    host MPI)."""
    comm = _communicator()
    if comm is None or str(a.dtype) not in _TYPES or not a.flags.c_contiguous:
        return False
    binding = backend.nccl()
    comm.allReduce(a.data.ptr, a.data.ptr, a.size, getattr(binding, _TYPES[str(a.dtype)]),
                   getattr(binding, _OPS[op]), backend.current_stream_ptr(a))
    if op in ("mean", "avg"):
        a /= group().size
    return True


def status():
    """'nccl' when CUDA arrays go over NCCL, else a line saying why they go through host memory."""
    if _comm:
        return "nccl"
    return "host MPI" + (f" ({_why_not})" if _why_not is not None else " (no CUDA array reduced yet)")
