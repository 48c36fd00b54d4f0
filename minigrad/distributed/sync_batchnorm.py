"""``SyncBatchNorm``: batch normalisation whose batch statistics are taken over the batches of all ranks.

Forward all-reduces, per channel, the sum and sum of squares of x and the count (float64); backward
all-reduces sum(gy) and sum(gy * xhat), so that with DistributedDataParallel's averaging the gradients are
those of one BatchNorm over the whole global batch. Alone (or in eval mode) it is a BatchNorm.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, is_grad_enabled, no_grad
from ..nn.normalization import _BatchNorm, _InstanceNorm
from ..ops.normalization import _channel_shape
from ..ops.shape import reshape
from ..tensor import Tensor
from .collectives import allreduce_array
from .group import group


class SyncStandardize(Function):
    """xhat = (x - mean) / sqrt(var + eps) per channel, mean and biased var over (N, *) of every rank.

    With M the global count per channel and the sums taken over all ranks:
        dx = rstd * (gy - sum(gy) / M - xhat * sum(gy * xhat) / M)
    First-order only: its backward is a collective on raw arrays, so ``create_graph=True`` raises."""
    save_inputs = False
    save_output = True

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x):
        xp, C = self.xp, x.shape[1]
        self.axes = (0,) + tuple(range(2, x.ndim))
        x64 = x.astype(np.float64)
        stats = xp.concatenate([x64.sum(axis=self.axes), (x64 * x64).sum(axis=self.axes),
                                xp.full(1, x.size // C, np.float64)])
        allreduce_array(stats, "sum")
        self.count = float(stats[-1])
        mean = stats[:C] / self.count
        self.mean, self.var = mean, xp.maximum(stats[C:2 * C] / self.count - mean * mean, 0.0)
        shape = (1, C) + (1,) * (x.ndim - 2)
        self.rstd = (1.0 / xp.sqrt(self.var + self.eps)).reshape(shape)
        return ((x64 - mean.reshape(shape)) * self.rstd).astype(x.dtype)

    def backward(self, gy):
        if is_grad_enabled():
            raise RuntimeError("SyncBatchNorm's backward is first-order only: it cannot be differentiated again "
                               "(create_graph=True); use BatchNorm for higher-order gradients")
        xp, xhat, g = self.xp, self.saved_output().array, gy.array
        C = g.shape[1]
        sums = xp.concatenate([g.sum(axis=self.axes, dtype=np.float64),
                               (g * xhat).sum(axis=self.axes, dtype=np.float64)])
        allreduce_array(sums, "sum")
        shape = self.rstd.shape
        mg, mgx = (sums[:C] / self.count).reshape(shape), (sums[C:] / self.count).reshape(shape)
        return self.wrap((self.rstd * (g - mg - xhat * mgx)).astype(g.dtype))


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) whose training statistics cover the global batch (``torch.nn.SyncBatchNorm``).

    The running statistics are updated with the global mean and the global unbiased variance, the same on
    every rank. ``convert_sync_batchnorm(model)`` swaps every BatchNorm1d/2d of a model for one (keeping its
    parameters and buffers). Difference from PyTorch: no ``process_group`` (the whole world)."""
    _dims = (2, 3, 4, 5)

    def forward(self, input):
        if not (self.training and group().size > 1):
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked.item())
        op = SyncStandardize(self.eps)
        y = op(input)
        if self.track_running_stats and self.running_mean is not None:
            n = op.count
            with no_grad():
                for r, s in ((self.running_mean, op.mean), (self.running_var, op.var * (n / max(n - 1, 1)))):
                    r.mul_(1 - factor).add_(Tensor._wrap(s.astype(r.array.dtype)), alpha=factor)
        shape = _channel_shape(input)
        if self.weight is not None:
            y = y * reshape(self.weight, shape)
        if self.bias is not None:
            y = y + reshape(self.bias, shape)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module):
        """``module`` with each BatchNorm layer replaced by a SyncBatchNorm sharing its parameters and
        buffers (a BatchNorm ``module`` itself is returned converted)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, (_InstanceNorm, cls)):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, bias=module.use_bias)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(new, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                new.register_buffer(name, getattr(module, name))
            new.train(module.training)
            return new
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child)
            if converted is not child:
                setattr(module, name, converted)
        return module
