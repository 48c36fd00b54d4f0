"""Making tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ... with PyTorch's dtype rules."""
from __future__ import annotations

import numpy as np

from . import backend, dtypes, random
from .tensor import Tensor, _array_from_python, _checked_array


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``: Python floats become the default float dtype (float32),
    ints int64; a NumPy array keeps its dtype (in native byte order: a big-endian array is converted, where
    PyTorch refuses it; object, string, datetime and void arrays raise a TypeError); a Tensor is copied
    (detached)."""
    if isinstance(data, np.generic):          # a NumPy scalar keeps its dtype too, as in torch.tensor
        data = np.asarray(data)
    if isinstance(data, Tensor):
        arr = data.array.copy() if dtype is None else data.array.astype(dtype)
        dev = data.device if device is None else backend.device(device)
        arr = backend.to_device(arr, dev)
    elif isinstance(data, np.ndarray) or backend.is_cupy_array(data):
        data = _checked_array(data)
        dev = backend.device_of(data) if device is None else backend.device(device)
        arr = backend.asarray(data, dtype, dev)
        if arr is data:
            arr = arr.copy()
    else:
        dev = backend.device(device)
        arr = backend.asarray(_array_from_python(data, dtype), None, dev)
    return Tensor._wrap(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array when it can (not a big-endian one: converted)."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device in (None, "cpu") and dtype in (None, data.dtype):
        return Tensor._wrap(_checked_array(data))
    return tensor(data, dtype, device)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (a big-endian array is converted to native order, a copy;
    PyTorch refuses it)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(_checked_array(array))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _new(fn, size, dtype, device, requires_grad, *args):
    dev = backend.device(device)
    dtype = np.dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    with backend.on(dev):
        return Tensor._wrap(getattr(dev.xp, fn)(_size(size), *args, dtype=dtype), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _new("zeros", size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _new("ones", size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _new("empty", size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = dtypes.bool if isinstance(fill_value, bool) else dtypes.int64 if isinstance(
            fill_value, (int, np.integer)) else dtypes.get_default_dtype()
    return _new("full", (size,) if not isinstance(size, int) else ((size,),), dtype, device,
                requires_grad, fill_value)


def _like(fn, x, dtype, device, requires_grad, *args):
    return fn(*((x.shape,) + args), dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _like(ones, x, dtype, device, requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return _like(empty, x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from start to end (exclusive) by step; int64 unless an argument is a float."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if floats else dtypes.int64
    dev = backend.device(device)
    with backend.on(dev):
        return Tensor._wrap(dev.xp.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    dev = backend.device(device)
    with backend.on(dev):
        array = dev.xp.linspace(start, end, int(steps)).astype(dtype or dtypes.get_default_dtype())
    return Tensor._wrap(array,
                        requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dev = backend.device(device)
    with backend.on(dev):
        return Tensor._wrap(dev.xp.eye(n, m, dtype=dtype or dtypes.get_default_dtype()), requires_grad)


# ------------------------------------------------------------------------------------------------ random
def _random(draw, size, dtype, device, requires_grad, default_dtype=None):
    device = backend.device(device)
    dtype = np.dtype(dtype) if dtype is not None else (default_dtype or dtypes.get_default_dtype())
    with backend.on(device):
        return Tensor._wrap(draw(_size(size), dtype, device).astype(dtype, copy=False), requires_grad)


def rand(*size, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Uniform on [0, 1)."""
    return _random(lambda s, d, dev: random.uniform(s, d, dev, generator), size, dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Standard normal."""
    return _random(lambda s, d, dev: random.normal(s, d, dev, generator), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), *, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Integers in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None:
        low, high = 0, low
    return _random(lambda s, d, dev: random.rng(generator, dev).integers(low, high, size=s), (tuple(size),),
                   dtype, device, requires_grad, dtypes.int64)


def randperm(n, *, generator=None, dtype=None, device="cpu"):
    """A random permutation of 0..n-1."""
    return _random(lambda s, d, dev: random.rng(generator, dev).permutation(n), ((),), dtype, device, False,
                   dtypes.int64)


def rand_like(x, *, dtype=None, generator=None):
    return rand(*x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)


def randn_like(x, *, dtype=None, generator=None):
    return randn(*x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)


def randint_like(x, low, high=None, *, dtype=None, generator=None):
    return randint(low, high, x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)
