"""Matrix multiplication (batched, broadcast)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from .elementwise import as_tensor_pair
from .shape import squeeze, transpose, unsqueeze


# Below this many multiply-adds a product runs on one BLAS thread: waking a second costs more than it saves
# (LeNet-5's linear layers, 128x400 @ 400x120: 0.1 ms on one thread, 1-10 ms on two next to the conv pool).
_ONE_THREAD_MACS = 2 ** 25


class MatMul(Function):
    """a @ b for a, b of 2+ dimensions; batch dimensions broadcast (the engine sums them back)."""

    def forward(self, a, b):
        if max(a.size * b.shape[-1], b.size * a.shape[-2]) < _ONE_THREAD_MACS:
            with backend.kernels(a).blas_one_thread():
                return a @ b
        return a @ b

    def backward(self, gy):
        a, b = self.saved_inputs()
        ga = gy @ transpose(b, -1, -2) if self.needs_input_grad[0] else None
        gb = transpose(a, -1, -2) @ gy if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    """Matrix product with NumPy/PyTorch rules: 1-D operands are promoted to matrices and the added
    dimension removed afterwards; leading (batch) dimensions broadcast."""
    a, b = as_tensor_pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    shapes = f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied"
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = unsqueeze(a, 0)
    if vb:
        b = unsqueeze(b, -1)
    if a.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"{shapes} ({a.shape[-1]} != {b.shape[-2]})")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{shapes}: batch dimensions {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} "
                           f"do not broadcast") from None
    y = MatMul()(a, b)
    if vb:
        y = squeeze(y, -1)
    if va:
        y = squeeze(y, -2 if not vb else -1)
    return y


def linear(x, weight, bias=None):
    """y = x W^T + b, with x (..., in_features), W (out_features, in_features), b (out_features,)."""
    if x.ndim == 0:
        raise RuntimeError(f"linear: the input must have at least 1 dimension (..., {weight.shape[-1]}), got a "
                           f"0-d tensor; the weight has shape {tuple(weight.shape)}")
    if x.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input has {x.shape[-1]} features (shape {tuple(x.shape)}) but the "
                           f"weight expects {weight.shape[-1]} (weight shape {tuple(weight.shape)})")
    y = matmul(x, transpose(weight, 0, 1))
    return y if bias is None else y + bias


def bmm(input, mat2):
    """Batched matrix product of (B, N, M) and (B, M, P), without broadcasting (use matmul for that)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: expected (B, N, M) and (B, M, P) tensors, got shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return MatMul()(input, mat2)
