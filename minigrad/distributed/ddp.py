"""``DistributedDataParallel``: the same model on every rank, gradients averaged across ranks.

At wrap time every rank checks that it holds the same model (names, shapes, dtypes of parameters and
buffers), then takes rank 0's values. After ``loss.backward()`` the gradients are averaged in fused
buckets: the gradients of consecutive parameters (up to ``bucket_cap_mb`` MiB) are copied into one flat
buffer, one all-reduce per bucket, and copied back (Horovod's fusion buffer: a few large messages instead
of one small one per parameter). Each bucket carries one extra number per parameter, 1 where this rank
has a gradient for it: a parameter no rank used keeps ``grad = None``; one some ranks used gets the
average with zeros from the others (as PyTorch's ``find_unused_parameters=True``).
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from .. import backend
from ..autograd import Function, is_grad_enabled, queue_callback
from ..nn.module import Module
from ..tensor import Tensor
from .collectives import allgather_object, allreduce_array, broadcast_array
from .group import DistributedError, group


class _SyncPoint(Function):
    """Identity on the model's output; its backward asks for the gradients to be averaged once the
    backward pass has set every ``.grad``."""
    save_inputs = False
    returns_view = True

    def __init__(self, ddp):
        self.ddp = ddp

    def forward(self, x):
        return x.view()

    def backward(self, gy):
        self.ddp._request_sync()
        return gy


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Call ``init_process_group()`` first. Each rank feeds its own share of the batch; ``backward()`` leaves
    every rank with the gradients averaged over all ranks, so the optimizer steps stay in lockstep.
    ``bucket_cap_mb``: the most MiB of gradients fused into one all-reduce (PyTorch's default 25).
    ``sync_batchnorm=True`` converts BatchNorm layers to :class:`SyncBatchNorm` (batch statistics over all
    ranks); by default each rank normalises with its own batch's statistics. Differences from PyTorch:
    buffers are broadcast once, at wrap time (not before every forward: running statistics stay per rank,
    save rank 0's); unused parameters are always handled (no ``find_unused_parameters`` needed); the
    gradients are reduced after the backward pass, not overlapped with it. ``no_sync()`` skips the
    averaging (gradient accumulation); ``comm_seconds`` / ``allreduce_calls`` count the time and calls.
    """

    def __init__(self, module, bucket_cap_mb=25.0, sync_batchnorm=False, broadcast_buffers=True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if not (bucket_cap_mb > 0):
            raise ValueError(f"bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        if sync_batchnorm:
            from .sync_batchnorm import SyncBatchNorm
            module = SyncBatchNorm.convert_sync_batchnorm(module)
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._params = [p for p in module.parameters() if p.requires_grad]
        self.buckets = self._make_buckets(self._params, int(self.bucket_cap_mb * 2**20))
        self._sync_pending, self._skip_sync = False, False
        self.comm_seconds, self.allreduce_calls = 0.0, 0
        _check_same_model(module)
        tensors = list(module.parameters()) + (list(module.buffers()) if broadcast_buffers else [])
        for t in tensors:
            broadcast_array(t.array, 0)
            t._bump()

    @staticmethod
    def _make_buckets(params, cap_bytes):
        """Consecutive parameters of one dtype and device, at most ``cap_bytes`` of them per bucket (a
        parameter larger than that is a bucket of its own)."""
        buckets, current, size = [], [], 0
        for p in params:
            nbytes = p.numel() * p.element_size()
            if current and (size + nbytes > cap_bytes or p.dtype != current[0].dtype
                            or p.device != current[0].device):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(current)
        return buckets

    def forward(self, *args, **kwargs):
        out = self.module(*args, **kwargs)
        if not (self.training and is_grad_enabled() and group().size > 1):
            return out
        if isinstance(out, Tensor):
            return _SyncPoint(self)(out) if out.requires_grad else out
        if isinstance(out, (tuple, list)):
            return type(out)(_SyncPoint(self)(o) if isinstance(o, Tensor) and o.requires_grad else o for o in out)
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block ``backward()`` only accumulates local gradients (sync on the next one outside)."""
        old, self._skip_sync = self._skip_sync, True
        try:
            yield
        finally:
            self._skip_sync = old

    def _request_sync(self):
        if not self._sync_pending and not self._skip_sync:
            self._sync_pending = True
            queue_callback(self._sync_gradients)

    def _sync_gradients(self):
        self._sync_pending = False
        start = time.perf_counter()
        for bucket in self.buckets:
            self._reduce_bucket(bucket)
        self.comm_seconds += time.perf_counter() - start

    def _reduce_bucket(self, bucket):
        """One all-reduce: the bucket's gradients (zeros where missing), then one 'has a gradient' flag per
        parameter; averaged over the ranks and written back to ``.grad``."""
        like = bucket[0].array
        xp = backend.xp_of(like)
        sizes = [p.numel() for p in bucket]
        flat = xp.zeros(sum(sizes) + len(bucket), like.dtype)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for p, lo, hi in zip(bucket, offsets[:-1], offsets[1:]):
            if p.grad is not None:
                flat[lo:hi] = p.grad.array.reshape(-1)
        flags = xp.asarray(np.array([p.grad is not None for p in bucket], dtype=like.dtype))
        flat[offsets[-1]:] = flags
        allreduce_array(flat, "sum")
        self.allreduce_calls += 1
        n = group().size
        used = backend.to_numpy(flat[offsets[-1]:]) > 0
        for p, lo, hi, u in zip(bucket, offsets[:-1], offsets[1:], used):
            if not u:
                continue
            g = flat[lo:hi].reshape(p.shape) / n
            if p.grad is not None and p.grad.array.shape == g.shape:
                p.grad.array[...] = g
                p.grad._bump()
            else:
                p.grad = Tensor._wrap(g.astype(like.dtype, copy=False))

    def extra_repr(self):
        return f"world_size={group().size}, buckets={len(self.buckets)}, bucket_cap_mb={self.bucket_cap_mb:g}"


def _check_same_model(module):
    """Every rank holds a model with the same parameter and buffer names, shapes and dtypes; else every rank
    raises the same error, naming the first rank and tensor that differ from rank 0's."""
    g = group()
    if g.size == 1:
        return
    spec = [("parameter", n, tuple(p.shape), str(p.dtype)) for n, p in module.named_parameters()]
    spec += [("buffer", n, tuple(b.shape), str(b.dtype)) for n, b in module.named_buffers()]
    specs = allgather_object(spec)
    ref = specs[0]
    for rank, other in enumerate(specs[1:], 1):
        if other == ref:
            continue
        for i, (a, b) in enumerate(zip(ref, other)):
            if a != b:
                raise DistributedError(
                    f"DistributedDataParallel: rank {rank} holds a different model than rank 0: its {b[0]} "
                    f"#{i} is {b[1]!r} {b[2]} {b[3]}, rank 0's is {a[1]!r} {a[2]} {a[3]}")
        raise DistributedError(
            f"DistributedDataParallel: rank {rank} holds a different model than rank 0: it has {len(other)} "
            f"parameters and buffers, rank 0 has {len(ref)}")
