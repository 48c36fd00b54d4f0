"""Reductions, and softmax / log-softmax (reductions along one axis)."""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from .. import dtypes
from ..autograd import Function, SumTo
from ..tensor import Tensor
from ._util import normalize_dims
from .elementwise import exp, log, maximum, minimum, scalar_like, sqrt, where
from .shape import expand, getitem, reshape, squeeze


def _as_1d(x, dim):
    """A 0-d ``x`` as shape (1,) for an op along one ``dim`` (0 or -1 there, as in PyTorch)."""
    normalize_dims(dim, 0)
    return reshape(x, (1,))


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    save_inputs = False

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims:
            gy = reshape(gy, _keepdim_shape(self.shape, self.axes))
        return expand(gy, *self.shape)


class Amax(Function):
    """Max over axes; ties share the gradient equally (PyTorch's amax rule)."""
    save_inputs = False

    def __init__(self, axes, keepdims, op="max"):
        self.axes, self.keepdims, self.op = axes, keepdims, op

    def forward(self, x):
        y = getattr(x, self.op)(axis=self.axes, keepdims=True)
        self.mask = x == y
        self.shape = x.shape
        return y if self.keepdims else y.reshape(tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        mask = self.mask.astype(gy.dtype)
        weight = self.wrap(mask / mask.sum(axis=self.axes, keepdims=True))
        if not self.keepdims:
            gy = reshape(gy, _keepdim_shape(self.shape, self.axes))
        return gy * weight


def sum(x, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim`` (all dims when None). Integer and bool tensors sum to int64, as in PyTorch."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    return Sum(normalize_dims(dim, x.ndim), keepdim)(x)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``, the shape it was broadcast from."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def mean(x, dim=None, keepdim=False):
    """Arithmetic mean over ``dim``."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"mean(): expected a floating point tensor, got {dtypes.name(x.dtype)}")
    axes = normalize_dims(dim, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
    return Sum(axes, keepdim)(x) / n


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    axes = normalize_dims(dim, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
    d = x - mean(x, axes, keepdim=True)
    return Sum(axes, keepdim)(d * d) / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt(var). Where var is 0 the gradient is 0 (PyTorch's choice), not inf."""
    v = var(x, dim, unbiased, keepdim, correction=correction)
    positive = v.detach() > 0
    return where(positive, sqrt(where(positive, v, scalar_like(1.0, v))), scalar_like(0.0, v))


def amax(x, dim=None, keepdim=False):
    """Max over ``dim``; the gradient is shared equally among tied maxima."""
    return Amax(normalize_dims(dim, x.ndim), keepdim, "max")(x)


def amin(x, dim=None, keepdim=False):
    """Min over ``dim``; the gradient is shared equally among tied minima."""
    return Amax(normalize_dims(dim, x.ndim), keepdim, "min")(x)


def argmax(x, dim=None, keepdim=False):
    """Index of the (first) largest value, as int64; over the flattened tensor when ``dim`` is None."""
    return _arg("argmax", x, dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    """Index of the (first) smallest value, as int64."""
    return _arg("argmin", x, dim, keepdim)


def _arg(op, x, dim, keepdim):
    xp = x._xp
    if dim is None:
        i = getattr(xp, op)(x.array.reshape(-1))
        return Tensor._wrap(xp.asarray(i, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    if x.ndim == 0:
        return _arg(op, _as_1d(x, dim), 0, False)
    (axis,) = normalize_dims(dim, x.ndim)
    i = getattr(xp, op)(x.array, axis=axis)
    if keepdim:
        i = xp.expand_dims(i, axis)
    return Tensor._wrap(i.astype(np.int64, copy=False))


class _MinMax(tuple):
    """(values, indices), also readable as ``.values`` and ``.indices`` like torch.return_types.max."""
    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def max(x, dim=None, keepdim=False):
    """``max(x)``: the largest value. ``max(x, dim)``: (values, indices) along dim; the gradient goes to
    the index position only (PyTorch's rule for max with a dim)."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _select(x, dim, keepdim, "argmax", amax)


def min(x, dim=None, keepdim=False):
    """``min(x)`` or (values, indices) along ``dim``."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _select(x, dim, keepdim, "argmin", amin)


def _select(x, dim, keepdim, arg, whole):
    if dim is None:
        return whole(x)
    if x.ndim == 0:
        return _select(_as_1d(x, dim), 0, False, arg, whole)
    (axis,) = normalize_dims(dim, x.ndim)
    idx = _arg(arg, x, axis, True)
    grid = list(np.ogrid[tuple(slice(0, s) for s in idx.shape)])
    grid[axis] = idx.array
    values = getitem(x, tuple(x._xp.asarray(g) for g in grid))
    if not keepdim:
        values, idx = squeeze(values, axis), squeeze(idx, axis)
    return _MinMax((values, idx))


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) along ``dim``, stable for large |x| (the max is subtracted first)."""
    axes = normalize_dims(dim, x.ndim)
    m = amax(x.detach(), axes, keepdim=True)
    m = where(m.isfinite(), m, scalar_like(0.0, m))
    y = log(Sum(axes, True)(exp(x - m))) + m
    return y if keepdim else reshape(y, tuple(s for i, s in enumerate(x.shape) if i not in axes))


class LogSoftmax(Function):
    save_inputs = False
    save_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = self.xp
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        y = self.saved_output()
        return gy - exp(y) * Sum((self.axis,), True)(gy)


class Softmax(Function):
    save_inputs = False
    save_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        e = self.xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.saved_output()
        return y * (gy - Sum((self.axis,), True)(gy * y))


def implicit_dim(op, ndim, stacklevel=3):
    """PyTorch's choice of ``dim`` for softmax-like ops called without one (0 for 0-, 1- and 3-d inputs,
    else 1), with PyTorch's deprecation warning."""
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include "
                  f"dim={dim} as an argument.", UserWarning, stacklevel=stacklevel)
    return dim


def softmax(x, dim=None):
    """exp(x) / sum(exp(x)) along ``dim`` (None: PyTorch's implicit choice, with its warning)."""
    if dim is None:
        dim = implicit_dim("softmax", x.ndim)
    if x.ndim == 0:
        return reshape(softmax(_as_1d(x, dim), 0), ())
    (axis,) = normalize_dims(dim, x.ndim)
    return Softmax(axis)(x)


def log_softmax(x, dim=None):
    """x - logsumexp(x) along ``dim``, stable for logits of 1e4 (None: PyTorch's implicit choice)."""
    if dim is None:
        dim = implicit_dim("log_softmax", x.ndim)
    if x.ndim == 0:
        return reshape(log_softmax(_as_1d(x, dim), 0), ())
    (axis,) = normalize_dims(dim, x.ndim)
    return LogSoftmax(axis)(x)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements when None): (sum |x|^p)^(1/p). Its gradient at a zero
    vector is 0, as in PyTorch (the root's derivative is infinite there: it is taken at 1 instead)."""
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    if p in (float("inf"), "inf"):
        return amax(x.abs(), dim, keepdim)
    s = sum(x * x, dim, keepdim) if p == 2 else sum(x.abs() ** p, dim, keepdim)
    zero = s == 0
    s = where(zero, scalar_like(1.0, s), s)
    return where(zero, scalar_like(0.0, s), sqrt(s) if p == 2 else s ** (1.0 / p))


def all(x, dim=None, keepdim=False):
    """True where every element along ``dim`` is nonzero (no gradient)."""
    axes = normalize_dims(dim, x.ndim)
    return Tensor._wrap(x._xp.all(x.array, axis=axes, keepdims=keepdim))


def any(x, dim=None, keepdim=False):
    """True where some element along ``dim`` is nonzero (no gradient)."""
    axes = normalize_dims(dim, x.ndim)
    return Tensor._wrap(x._xp.any(x.array, axis=axes, keepdims=keepdim))
