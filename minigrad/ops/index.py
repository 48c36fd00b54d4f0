"""Indexing along one dimension: gather, scatter, scatter_add, index_select, flip, roll, nonzero.

All are built from the indexing primitives (GetItem, whose backward is IndexAdd, and IndexAdd, whose
backward is GetItem), so they need no backward of their own and are differentiable to any order.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._util import normalize_dims
from .elementwise import masked_fill
from .shape import IndexAdd, cat, getitem, reshape, stack


def _index_array(index, x, op):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be a Tensor of int64, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    return index.array if index.device == x.device else backend.to_device(index.array, x.device)


def _along(x, dim, index, op):
    """The advanced-indexing key that picks ``x[i][j][index[i][j][k]]`` (dim=2), as gather does."""
    (axis,) = normalize_dims(dim, x.ndim)
    idx = _index_array(index, x, op)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{op}: index has {idx.ndim} dimensions but the tensor has {x.ndim} "
                           f"(shapes {tuple(idx.shape)} and {tuple(x.shape)}); they must match")
    for d, (si, sx) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and si > sx:
            raise RuntimeError(f"{op}: index of shape {tuple(idx.shape)} is larger than the tensor of shape "
                               f"{tuple(x.shape)} in dimension {d}")
    if idx.size and (idx.min() < -x.shape[axis] or idx.max() >= x.shape[axis]):
        raise IndexError(f"{op}: index out of range for dimension {axis} of size {x.shape[axis]}")
    xp = x._xp
    grid = [xp.arange(s).reshape([-1 if d == k else 1 for k in range(idx.ndim)]) for d, s in enumerate(idx.shape)]
    grid[axis] = idx
    return tuple(xp.broadcast_to(g, idx.shape) for g in grid)


def gather(input, dim, index):
    """``out[i][j][k] = input[i][j][index[i][j][k]]`` (dim=2); out has index's shape."""
    return getitem(input, _along(input, dim, index, "gather"))


def _src_part(src, index, x, op):
    if not isinstance(src, Tensor):
        return Tensor._wrap(x._xp.full(index.shape, src, dtype=x.dtype))
    if src.ndim != index.ndim or any(a > b for a, b in zip(index.shape, src.shape)):
        raise RuntimeError(f"{op}: src of shape {tuple(src.shape)} must have index's number of dimensions and "
                           f"be at least as large as index {tuple(index.shape)}")
    return getitem(src, tuple(slice(0, s) for s in index.shape))


def scatter_add(input, dim, index, src):
    """``out = input`` with ``out[i][j][index[i][j][k]] += src[i][j][k]`` (dim=2); repeated indices add up."""
    key = _along(input, dim, index, "scatter_add")
    return input + IndexAdd(key, input.shape)(_src_part(src, index, input, "scatter_add"))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``out = input`` with ``out[i][j][index[i][j][k]] = src[i][j][k]`` (dim=2; ``src`` may be a number, or
    pass ``value=``). ``reduce='add'`` is :func:`scatter_add`. Where an index repeats, PyTorch leaves the
    winner unspecified; here the values are summed."""
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter: give src (a Tensor or number) or value=")
    if reduce == "add":
        return scatter_add(input, dim, index, src)
    if reduce is not None:
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    key = _along(input, dim, index, "scatter")
    hit = Tensor._wrap(input._xp.zeros(input.shape, dtype=bool))
    hit.array[key] = True
    return masked_fill(input, hit, 0) + IndexAdd(key, input.shape)(_src_part(src, index, input, "scatter"))


def index_select(input, dim, index):
    """The entries of ``input`` at the 1-D ``index`` along ``dim`` (repeats allowed)."""
    (axis,) = normalize_dims(dim, input.ndim)
    idx = _index_array(index, input, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-D or 1-D, got shape {tuple(idx.shape)}")
    return getitem(input, (slice(None),) * axis + (idx.reshape(-1),))


def flip(input, dims):
    """``input`` reversed along each of ``dims``."""
    axes = normalize_dims(dims, input.ndim)
    return getitem(input, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim)))


def roll(input, shifts, dims=None):
    """Entries shifted by ``shifts`` along ``dims``, wrapping around; ``dims=None`` rolls the flattened tensor."""
    if dims is None:
        return reshape(roll(reshape(input, -1), shifts, 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dims must have the same length, got {len(shifts)} and {len(dims)}")
    y = input
    for s, d in zip(shifts, dims):
        (axis,) = normalize_dims(d, input.ndim)
        n = input.shape[axis]
        s = s % n if n else 0
        if s:
            head = (slice(None),) * axis
            y = cat([getitem(y, head + (slice(n - s, None),)), getitem(y, head + (slice(0, n - s),))], axis)
    return y


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero entries: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-D tensor per
    dimension (no gradient)."""
    xp = input._xp
    if input.ndim == 0:
        n = int(bool(input.array))
        return (Tensor._wrap(xp.zeros(n, dtype=np.int64)),) if as_tuple else \
            Tensor._wrap(xp.zeros((n, 0), dtype=np.int64))
    idx = tuple(Tensor._wrap(i.astype(np.int64)) for i in xp.nonzero(input.array))
    return idx if as_tuple else stack(idx, 1)
