"""Small helpers the ops share: argument normalisation and dtype handling. Leaf code: imports no op."""
from __future__ import annotations

import builtins
import functools

import numpy as np


def normalize_dims(dim, ndim):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise IndexError(f"dimension {d} is out of range for a tensor of {ndim} dimensions")
        out.append(d % builtins.max(ndim, 1) if ndim else 0)
    return tuple(sorted(set(out))) if ndim else ()


def pair(v, name, op):
    """An int or a 1- or 2-sequence as an (int, int) pair; anything else is a ValueError naming ``op``."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def ceil_div(a, b):
    """The smallest integer >= a / b, for positive b."""
    return -(-a // b)


def batched(x, op):
    """(x as a 4-D (N, C, H, W) tensor, whether it came unbatched as 3-D (C, H, W))."""
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    return x, False


def float16_in_float32(forward):
    """Decorates a ``Function.forward``: float16 NumPy inputs are computed in float32 and the floating
    results returned as float16. The Numba kernels have no float16, and PyTorch's CPU kernels accumulate
    half precision in float too. CuPy arrays pass through unchanged (the GPU has float16 arithmetic)."""
    @functools.wraps(forward)
    def wrapper(*args, **kwargs):
        if not builtins.any(isinstance(a, np.ndarray) and a.dtype == np.float16 for a in args):
            return forward(*args, **kwargs)
        up = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float16 else a for a in args]
        out = forward(*up, **kwargs)
        down = _to_float16
        return tuple(down(o) for o in out) if isinstance(out, tuple) else down(out)
    return wrapper


def _to_float16(a):
    return a.astype(np.float16) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
