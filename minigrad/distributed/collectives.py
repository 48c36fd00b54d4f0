"""Collectives on tensors, with ``torch.distributed``'s names: ``all_reduce``, ``broadcast``, ``all_gather``,
``barrier``; and the same on raw arrays (``allreduce_array``, ...) for DDP's buckets and SyncBatchNorm.

Each rank calls the same collectives in the same order with tensors of the same shape and dtype. Host
(NumPy) arrays go over MPI as non-blocking calls polled until the group's timeout; CUDA (CuPy) arrays go
over NCCL when CuPy has it, else through host memory (``minigrad.distributed.nccl``). In a group of one
every collective returns its input unchanged.
"""
from __future__ import annotations

import numpy as np

from ..backend import is_cupy_array, xp_of
from .group import DistributedError, group


class ReduceOp:
    """The reductions of ``all_reduce`` (``torch.distributed.ReduceOp``); the strings 'sum', 'mean' (or
    'avg'), 'max' and 'min' work too."""
    SUM, AVG, MAX, MIN = "sum", "mean", "max", "min"


_OPS = {"sum": "SUM", "mean": "SUM", "avg": "SUM", "max": "MAX", "min": "MIN"}


def _op_name(op):
    name = str(getattr(op, "value", op)).lower()
    if name not in _OPS:
        raise ValueError(f"all_reduce: unknown op {op!r}: expected ReduceOp.SUM, AVG, MAX or MIN "
                         f"('sum', 'mean', 'max', 'min')")
    return name


def _host(a):
    """A C-contiguous NumPy array holding ``a``'s values (``a`` itself when it already is one)."""
    if is_cupy_array(a):
        return a.get()
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _put(a, values):
    """Write ``values`` (host or device) into ``a`` in place, unless it already is ``a``."""
    if values is not a:
        a[...] = xp_of(a).asarray(values)


def allreduce_array(a, op="sum"):
    """Reduce the array ``a`` (NumPy or CuPy) across ranks, in place; returns ``a``."""
    op = _op_name(op)
    g = group()
    if g.size == 1:
        return a
    if is_cupy_array(a):
        from . import nccl
        if nccl.allreduce(a, op):
            return a
    from mpi4py import MPI
    buf = _host(a)
    g.wait(g.comm.Iallreduce(MPI.IN_PLACE, buf, op=getattr(MPI, _OPS[op])), f"all_reduce of {buf.shape} {buf.dtype}")
    if op in ("mean", "avg"):
        buf /= g.size
    _put(a, buf)
    return a


def broadcast_array(a, src=0):
    """Give every rank rank ``src``'s values of ``a``, in place; returns ``a``."""
    g = group()
    _check_src(src, g)
    if g.size == 1:
        return a
    buf = _host(a)
    g.wait(g.comm.Ibcast(buf, root=src), f"broadcast of {buf.shape} {buf.dtype} from rank {src}")
    _put(a, buf)
    return a


def allgather_array(a):
    """Every rank's ``a`` (same shape and dtype on each), stacked on a new first axis: a NumPy array."""
    g = group()
    buf = _host(a)
    if g.size == 1:
        return buf[None].copy()
    out = np.empty((g.size,) + buf.shape, buf.dtype)
    g.wait(g.comm.Iallgather(buf, out), f"all_gather of {buf.shape} {buf.dtype}")
    return out


def allgather_object(obj):
    """Every rank's picklable ``obj``, as a list in rank order (for small metadata: names, shapes)."""
    g = group()
    if g.size == 1:
        return [obj]
    import pickle
    data = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = allgather_array(np.array([data.size], np.int64))[:, 0]
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[:data.size] = data
    table = allgather_array(padded)
    return [pickle.loads(table[r, :sizes[r]].tobytes()) for r in range(g.size)]


def _check_src(src, g):
    if not (isinstance(src, (int, np.integer)) and 0 <= src < g.size):
        raise ValueError(f"broadcast: src must be a rank in 0..{g.size - 1}, got {src!r}")


def _check_same(tensor, what):
    """All ranks hold a tensor of the same shape and dtype (else every rank raises the same clear error)."""
    g = group()
    if g.size == 1:
        return
    spec = (tuple(tensor.shape), str(tensor.dtype))
    specs = allgather_object(spec)
    if any(s != specs[0] for s in specs):
        listing = ", ".join(f"rank {r}: {s[0]} {s[1]}" for r, s in enumerate(specs))
        raise DistributedError(f"{what}: the ranks passed tensors of different shapes or dtypes ({listing})")


# --------------------------------------------------------------------------------------------- on tensors

def all_reduce(tensor, op=ReduceOp.SUM):
    """Reduce ``tensor`` across all ranks in place (sum, mean, max or min); every rank gets the result."""
    _op_name(op)
    _check_same(tensor, "all_reduce")
    allreduce_array(tensor.array, op)
    tensor._bump()


def broadcast(tensor, src=0):
    """Overwrite ``tensor`` on every rank with rank ``src``'s values, in place."""
    _check_same(tensor, "broadcast")
    broadcast_array(tensor.array, src)
    tensor._bump()


def all_gather(tensor_list, tensor):
    """Fill ``tensor_list`` (one tensor per rank, each of ``tensor``'s shape) with every rank's ``tensor``."""
    g = group()
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must hold world_size={g.size} tensors, got {len(tensor_list)}")
    for t in tensor_list:
        if tuple(t.shape) != tuple(tensor.shape):
            raise ValueError(f"all_gather: every tensor of tensor_list must have the shape {tuple(tensor.shape)}, "
                             f"got {tuple(t.shape)}")
    _check_same(tensor, "all_gather")
    table = allgather_array(tensor.array)
    for t, values in zip(tensor_list, table):
        _put(t.array, values.astype(t.array.dtype, copy=False))
        t._bump()


def barrier():
    """Wait until every rank has reached this call."""
    g = group()
    if g.size > 1:
        g.wait(g.comm.Ibarrier(), "barrier")


def broadcast_object(obj, src=0):
    """Rank ``src``'s picklable ``obj`` on every rank (others pass anything, e.g. None)."""
    return allgather_object(obj)[src] if group().size > 1 else obj


def sum_over_ranks(*numbers):
    """The sums over all ranks of a few Python numbers (float64), as a tuple; alone, the numbers themselves.
    A collective: every rank calls it (the training loop's metrics: loss sums, counts)."""
    if group().size == 1:
        return numbers
    return tuple(float(v) for v in allreduce_array(np.array(numbers, np.float64), "sum"))
