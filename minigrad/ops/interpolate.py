"""Resizing: ``interpolate`` (nearest, linear, bilinear) with PyTorch's coordinate rules. One axis at a time,
by index selection and weighted sums, so it needs no backward of its own and is differentiable twice."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .shape import getitem

_MODES = {"nearest": 1, "linear": 1, "bilinear": 2}


def _take(x, axis, idx):
    return getitem(x, (slice(None),) * axis + (x._xp.asarray(idx),))


def _resize_axis(x, axis, out, scale, mode, align_corners):
    n = x.shape[axis]
    dst = np.arange(out, dtype=np.float64)
    if mode == "nearest":
        return _take(x, axis, np.minimum(np.floor(dst * scale).astype(np.int64), n - 1))
    if align_corners:
        src = dst * ((n - 1) / (out - 1) if out > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1] * x.ndim
    shape[axis] = out
    lam = Tensor._wrap(x._xp.asarray((src - i0).reshape(shape), dtype=x.dtype))
    return _take(x, axis, i0) * (1 - lam) + _take(x, axis, i1) * lam


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial dimensions of an (N, C, L) or (N, C, H, W) tensor to ``size`` or by
    ``scale_factor``: ``mode`` 'nearest' (PyTorch's floor rule), 'linear' (3-D) or 'bilinear' (4-D), with
    ``align_corners`` as in PyTorch (default False)."""
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of {sorted(_MODES)}")
    spatial = input.ndim - 2
    if spatial not in (1, 2) or (mode == "linear" and spatial != 1) or (mode == "bilinear" and spatial != 2):
        raise ValueError(f"interpolate: mode {mode!r} needs a {'3' if mode == 'linear' else '4'}-D input"
                         f"{' (or 3-D for nearest)' if mode == 'nearest' else ''}, got shape {tuple(input.shape)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to linear and bilinear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    ins = input.shape[2:]
    if size is not None:
        outs = tuple(size) if isinstance(size, (tuple, list)) else (size,) * spatial
        scales = [i / o for i, o in zip(ins, outs)]
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * spatial
        outs = tuple(int(math.floor(i * f)) for i, f in zip(ins, factors))
        scales = [i / o if recompute_scale_factor else 1.0 / f for i, o, f in zip(ins, outs, factors)]
    if len(outs) != spatial or any(o <= 0 for o in outs):
        raise ValueError(f"interpolate: output size {outs} is not valid for an input of shape {tuple(input.shape)}")
    y = input
    for k, (out, scale) in enumerate(zip(outs, scales)):
        y = _resize_axis(y, 2 + k, int(out), scale, "nearest" if mode == "nearest" else "linear", align_corners)
    return y
