"""Sorting along one dimension: sort, argsort, topk. The values are a gather at the sorted indices, so
their gradient goes back to the positions they came from (PyTorch's rule)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import normalize_dims
from .index import gather
from .reduce import _MinMax as _Pair     # (values, indices) with .values and .indices
from .shape import getitem


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (ties keep their order: the sort is stable)."""
    xp = input._xp
    if input.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    (axis,) = normalize_dims(dim, input.ndim)
    a = input.array
    if descending:      # a stable descending order: sort the negated keys (bools and unsigned by rank)
        a = -a.astype(np.int64) if a.dtype.kind in "bu" else -a
    return Tensor._wrap(xp.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False))


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of ``input`` sorted along ``dim``."""
    if input.ndim == 0:
        return _Pair((input * 1, argsort(input)))
    idx = argsort(input, dim, descending)
    return _Pair((gather(input, dim, idx), idx))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) entries along ``dim``, largest first."""
    (axis,) = normalize_dims(dim, input.ndim)
    n = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) must be between 0 and the size of dimension {dim} ({n})")
    if input.ndim == 0:
        return sort(input)
    idx = getitem(argsort(input, axis, descending=largest), (slice(None),) * axis + (slice(0, k),))
    return _Pair((gather(input, axis, idx), idx))
