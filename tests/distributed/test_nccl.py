"""The NCCL path's wiring, with a stand-in for CuPy's NCCL binding (no GPU here): the unique id goes over
MPI's broadcast, the all-reduce gets the array's pointer, count, NCCL dtype and op, and without NCCL the
caller falls back to host MPI."""
import types

import numpy as np

from minigrad import backend
from minigrad.distributed import group as G
from minigrad.distributed import nccl


class FakeBinding(types.SimpleNamespace):
    NCCL_SUM, NCCL_MAX, NCCL_MIN, NCCL_FLOAT32, NCCL_FLOAT64 = "sum", "max", "min", "f32", "f64"
    NCCL_FLOAT16 = NCCL_INT32 = NCCL_INT64 = NCCL_UINT8 = "other"

    def __init__(self):
        super().__init__(calls=[])

    def get_unique_id(self):
        return (7, 7, 7)

    def NcclCommunicator(self, size, uid, rank):
        binding = self

        class Comm:
            def allReduce(self, send, recv, count, dtype, op, stream):
                binding.calls.append((send, recv, count, dtype, op, stream))
        binding.joined = (size, uid, rank)
        return Comm()


class FakeMPI:
    def __init__(self):
        self.bcasts = []

    def bcast(self, obj, root):
        self.bcasts.append((obj, root))
        return obj


class FakeArray:       # what nccl.allreduce reads of a CuPy array
    def __init__(self, n):
        self.values, self.size, self.dtype = np.ones(n, np.float32), n, np.dtype(np.float32)
        self.flags = types.SimpleNamespace(c_contiguous=True)
        self.data = types.SimpleNamespace(ptr=1234)

    def __itruediv__(self, k):
        self.values /= k
        return self


def test_nccl_allreduce_wiring(monkeypatch):
    binding, mpi = FakeBinding(), FakeMPI()
    monkeypatch.setattr(backend, "nccl", lambda: binding)
    monkeypatch.setattr(backend, "current_stream_ptr", lambda a: 99)
    monkeypatch.setattr(G, "_group", G._Group(mpi, 0, 2, 10.0))
    monkeypatch.setattr(nccl, "_comm", None)
    a = FakeArray(5)
    assert nccl.allreduce(a, "mean")
    assert mpi.bcasts == [((7, 7, 7), 0)] and binding.joined == (2, (7, 7, 7), 0)
    assert binding.calls == [(1234, 1234, 5, "f32", "sum", 99)]
    np.testing.assert_array_equal(a.values, np.full(5, 0.5))     # mean: the sum divided by the world size
    assert nccl.status() == "nccl"
    nccl.allreduce(a, "max")
    assert binding.calls[-1][4] == "max" and len(mpi.bcasts) == 1     # one communicator per process


def test_without_nccl_the_caller_goes_through_host_mpi(monkeypatch):
    monkeypatch.setattr(backend, "nccl", lambda: None)
    monkeypatch.setattr(G, "_group", G._Group(FakeMPI(), 1, 2, 10.0))
    monkeypatch.setattr(nccl, "_comm", None)
    monkeypatch.setattr(nccl, "_why_not", None)
    assert not nccl.allreduce(FakeArray(3), "sum")
    assert nccl.status() == "host MPI (CuPy has no NCCL here)"
