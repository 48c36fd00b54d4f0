"""Shape primitives: reshape, permute, expand, indexing, concatenation; the rest is built from them."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Expand, Function
from ..tensor import Tensor
from ._util import ceil_div
from .elementwise import as_tensor_pair


def _shape_arg(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _axis(dim, ndim):
    if not -ndim <= dim < ndim:
        raise IndexError(f"dimension {dim} is out of range for a tensor of {ndim} dimensions "
                         f"(expected to be in [{-ndim}, {ndim - 1}])")
    return dim % ndim


class Reshape(Function):
    save_inputs = False
    returns_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.in_shape)


class Permute(Function):
    save_inputs = False
    returns_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return permute(gy, *np.argsort(self.axes).tolist())


def reshape(x, *shape):
    """x with a new shape of the same number of elements (one dimension may be -1)."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    known = int(np.prod([s for s in shape if s != -1]))
    n = x.numel()
    if shape.count(-1) > 1 or any(s < -1 for s in shape) or (
            n != known if -1 not in shape else (known == 0 or n % known)):
        raise RuntimeError(f"shape {shape} is invalid for input of size {n} (shape {tuple(x.shape)})")
    return Reshape(shape)(x)


view = reshape


def permute(x, *dims):
    """Reorder the dimensions: ``y.shape[i] == x.shape[dims[i]]``."""
    dims = _shape_arg(dims)
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: {dims} is not a permutation of the {x.ndim} dimensions of a tensor "
                           f"of shape {tuple(x.shape)}")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return Permute(dims)(x)


def transpose(x, dim0, dim1):
    """Swap two dimensions."""
    axes = list(range(x.ndim))
    a, b = _axis(dim0, x.ndim), _axis(dim1, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, *axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _axis(start_dim, x.ndim), _axis(end_dim, x.ndim)
    return reshape(x, *x.shape[:s], -1, *x.shape[e + 1:]) if s <= e else x


def squeeze(x, dim=None):
    """Drop dimensions of size 1 (only ``dim`` when given)."""
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {_axis(d, max(x.ndim, 1)) for d in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    """Insert a dimension of size 1 at ``dim``."""
    d = _axis(dim, x.ndim + 1)
    return reshape(x, *x.shape[:d], 1, *x.shape[d:])


def expand(x, *sizes):
    """Broadcast x to ``sizes`` without copying; -1 keeps a size. The gradient is summed back."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the number of "
                           f"dimensions ({x.ndim}) of the tensor of shape {tuple(x.shape)}")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(f"expand: the tensor of shape {tuple(x.shape)} cannot be expanded to "
                               f"{shape}: size {s} at dimension {i} must be 1 or match")
    if shape == x.shape:
        return x
    return Expand(shape)(x)


broadcast_to = expand


def repeat(x, *sizes):
    """Tile x ``sizes[i]`` times along each dimension (PyTorch's ``repeat``; NumPy's ``tile``)."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: need at least {x.ndim} sizes for a tensor of shape {tuple(x.shape)}")
    x = reshape(x, *(1,) * (len(sizes) - x.ndim), *x.shape)
    # put a new axis of size r before each dimension, broadcast, then merge
    y = reshape(x, *[v for s in x.shape for v in (1, s)])
    y = expand(y, *[v for r, s in zip(sizes, x.shape) for v in (r, s)])
    return reshape(y, *[r * s for r, s in zip(sizes, x.shape)])


# ------------------------------------------------------------------------------------ indexing

def index_key(key):
    """A key for an array from a user's key: Tensors become arrays, lists become integer arrays."""
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def _index_part(k):
    if isinstance(k, Tensor):
        return k.array
    if isinstance(k, list):
        return np.asarray(k)
    return k


def is_basic(key):
    """True when ``key`` selects by slices and integers only (a view, no repeated elements)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in parts)


class GetItem(Function):
    save_inputs = False

    def __init__(self, key):
        self.key = key
        self.returns_view = is_basic(key)

    def forward(self, x):
        self.shape = x.shape
        return x[self.key]

    def backward(self, gy):
        return IndexAdd(self.key, self.shape)(gy)


class IndexAdd(Function):
    """Scatter ``gy`` into zeros of ``shape`` at ``key`` (repeated indices add up). Backward: gather."""
    save_inputs = False

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, gy):
        gx = self.xp.zeros(self.shape, dtype=gy.dtype)
        if is_basic(self.key):
            gx[self.key] = gy
        else:
            backend.scatter_add(gx, self.key, gy)
        return gx

    def backward(self, ggx):
        return GetItem(self.key)(ggx)


def getitem(x, key):
    """``x[key]`` with basic (slices, ints, None, ...) and advanced (integer/bool arrays) indices."""
    key = index_key(key)
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if hasattr(k, "dtype") and k.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {k.dtype}")
        if backend.is_cupy_array(k) != x.is_cuda and hasattr(k, "dtype"):
            key = tuple(backend.to_device(p, x.device) if hasattr(p, "dtype") else p for p in key)
            break
    try:
        return GetItem(key)(x)
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {tuple(x.shape)})") from None


# ------------------------------------------------------------------------------------ joining

class Cat(Function):
    save_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        offsets = np.cumsum([0] + self.sizes)
        lead = (slice(None),) * self.axis
        return tuple(getitem(gy, lead + (slice(int(a), int(b)),)) if need else None
                     for a, b, need in zip(offsets[:-1], offsets[1:], self.needs_input_grad))


def cat(tensors, dim=0):
    """Concatenate along an existing dimension; all other sizes must match."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    axis = _axis(dim, first.ndim)
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim or t.shape[:axis] + t.shape[axis + 1:] != first.shape[:axis] + first.shape[axis + 1:]:
            raise RuntimeError(f"cat: sizes must match except in dimension {axis}: tensor 0 has shape "
                               f"{tuple(first.shape)}, tensor {i} has shape {tuple(t.shape)}")
        if t.dtype != first.dtype:
            tensors[0], tensors[i] = as_tensor_pair(tensors[0], t)
    dtype = tensors[0].dtype
    tensors = [t.to(dtype) for t in tensors]
    return Cat(axis)(*tensors)


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {tuple(tensors[0].shape)} "
                               f"at entry 0 and {tuple(t.shape)} at entry {i}")
    d = _axis(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(x, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (the last may be smaller) or of the given section sizes."""
    axis = _axis(dim, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split: sections {sizes} do not add up to {n}, the size of dimension {axis}")
    lead = (slice(None),) * axis
    out, start = [], 0
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces (ceil(n / chunks) each, as in PyTorch)."""
    n = x.shape[_axis(dim, x.ndim)]
    return split(x, max(ceil_div(n, chunks), 1), dim)
