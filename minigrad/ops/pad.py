"""pad: constant, reflect, replicate and circular padding of the trailing dimensions (PyTorch's F.pad).

Constant padding is a primitive (its backward crops). The other modes gather along each padded dimension
with an index array (EdgePad); the backward (EdgePadAdjoint) takes the interior slice and adds the few
border slices back where they came from, one vectorised add per padded position, not np.add.at.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function

MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(Function):
    """Pad with ``value``: ``pads`` is one (before, after) pair of non-negative ints per dimension."""
    save_inputs = False

    def __init__(self, pads, value):
        self.pads, self.value = pads, value

    def forward(self, x):
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, self.pads))
        y = self.xp.full(shape, self.value, dtype=x.dtype)
        y[self.inner(x.shape)] = x
        return y

    def inner(self, shape):
        return tuple(slice(a, a + n) for n, (a, _) in zip(shape, self.pads))

    def backward(self, gy):
        return gy[self.inner(self.meta[0][0])]


class EdgePad(Function):
    """y = x.take(index, axis) where index is ``before`` border positions, 0..n-1, ``after`` more."""
    save_inputs = False

    def __init__(self, axis, index, before):
        self.axis, self.index, self.before = axis, index, before

    def forward(self, x):
        self.n = x.shape[self.axis]
        return self.xp.take(x, self.xp.asarray(self.index), axis=self.axis)

    def backward(self, gy):
        return EdgePadAdjoint(self.axis, self.index, self.before, self.n)(gy)


class EdgePadAdjoint(Function):
    """The adjoint of EdgePad: sum each padded position's gradient into the position it copied."""
    save_inputs = False

    def __init__(self, axis, index, before, n):
        self.axis, self.index, self.before, self.n = axis, index, before, n

    def forward(self, gy):
        def at(i):
            return (slice(None),) * self.axis + (i,)
        gx = gy[at(slice(self.before, self.before + self.n))].copy()
        for j, i in enumerate(self.index):
            if not self.before <= j < self.before + self.n:
                gx[at(int(i))] += gy[at(j)]
        return gx

    def backward(self, ggx):
        return EdgePad(self.axis, self.index, self.before)(ggx)


def _index(mode, n, before, after):
    """Source positions for the padded positions -before .. n+after-1 of a dimension of size n."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        i = np.abs(i)
        return (n - 1) - np.abs((n - 1) - i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n      # circular


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad)//2 dimensions: pad = (left, right, top, bottom, ...) from the last dimension.

    'constant' fills ``value`` (default 0; negative amounts crop); 'reflect' mirrors without repeating the
    edge; 'replicate' repeats the edge; 'circular' wraps around.
    """
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: the padding {pad} must have an even length of at most 2*{input.ndim} "
                         f"for an input of shape {tuple(input.shape)}")
    nd = len(pad) // 2
    pairs = [(0, 0)] * (input.ndim - nd) + [(pad[2 * k], pad[2 * k + 1]) for k in reversed(range(nd))]
    x = input
    if mode == "constant":
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, pairs))
        if any(n - max(-a, 0) - max(-b, 0) < 0 for n, (a, b) in zip(x.shape, pairs)):
            raise ValueError(f"pad: padding {pad} crops more than the input of shape {tuple(x.shape)} has")
        if any(a < 0 or b < 0 for a, b in pairs):
            x = x[crop]
        pairs = [(max(a, 0), max(b, 0)) for a, b in pairs]
        return ConstantPad(pairs, 0.0 if value is None else value)(x)
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: value is only used by mode='constant', got value={value} with mode={mode!r}")
    if nd > input.ndim - 1:
        raise ValueError(f"pad: mode={mode!r} pads at most {input.ndim - 1} dimensions of an input of shape "
                         f"{tuple(input.shape)}, got padding {pad}")
    for d, (a, b) in enumerate(pairs):
        if a == b == 0:
            continue
        n = x.shape[d]
        if a < 0 or b < 0:
            raise ValueError(f"pad: mode={mode!r} needs non-negative padding, got {pad}")
        if (mode == "reflect" and max(a, b) >= n) or (mode == "circular" and max(a, b) > n) or n == 0:
            limit = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"pad: with mode={mode!r} the padding ({a}, {b}) of dimension {d} must be {limit} "
                             f"its size {n} (input shape {tuple(input.shape)})")
        x = EdgePad(d, _index(mode, n, a, b), a)(x)
    return x
