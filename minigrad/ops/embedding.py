"""Lookup tables: embedding (rows of a weight matrix by index) and one_hot."""
from __future__ import annotations

from .. import dtypes
from ..tensor import Tensor
from .elementwise import where
from .shape import getitem, unsqueeze


def embedding(input, weight, padding_idx=None):
    """weight[input]: integer indices of any shape -> (*input.shape, embedding_dim). The gradient of each
    row is the sum over its occurrences; the ``padding_idx`` row gets none."""
    if input.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected integer indices, got {dtypes.name(input.dtype)}")
    n = weight.shape[0]
    idx = input.array
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range for an embedding of {n} rows "
                         f"(got min {int(idx.min())}, max {int(idx.max())})")
    y = getitem(weight, input)
    if padding_idx is not None:
        pad = Tensor._wrap(idx == padding_idx % n)
        y = where(unsqueeze(pad, -1), y.detach(), y)
    return y


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding: shape (*tensor.shape, num_classes) (max + 1 classes when -1)."""
    xp = tensor._xp
    t = tensor.array
    if num_classes < 0:
        num_classes = int(t.max()) + 1 if t.size else 0
    if t.size and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._wrap((t[..., None] == xp.arange(num_classes)).astype(dtypes.int64))
