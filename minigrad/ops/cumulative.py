"""Running sums and products along one dimension."""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._util import normalize_dims
from .elementwise import where
from .index import flip
from .shape import transpose, unsqueeze


class Cumsum(Function):
    """y[i] = x[0] + ... + x[i] along ``axis``. Backward: the reversed running sum of gy."""
    save_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return self.xp.cumsum(x, axis=self.axis)

    def backward(self, gy):
        return flip(Cumsum(self.axis)(flip(gy, self.axis)), self.axis)


class Cumprod(Function):
    """y[i] = x[0] * ... * x[i] along ``axis``. Backward: gx[i] = sum_{j>=i} gy[j] * y[j] / x[i] where no x
    is zero; with zeros, the products that leave x[i] out, computed directly (an n x n intermediate)."""
    save_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return self.xp.cumprod(x, axis=self.axis)

    def backward(self, gy):
        (x,), y, a = self.saved_inputs(), self.saved_output(), self.axis
        if bool((x.array != 0).all()):
            return flip(Cumsum(a)(flip(gy * y, a)), a) / x
        xl, gl = transpose(x, a, -1), transpose(gy, a, -1)       # the running dimension last
        n = x.shape[a]
        eye = Tensor._wrap(x._xp.eye(n, dtype=bool))
        later = Tensor._wrap(x._xp.triu(x._xp.ones((n, n), dtype=bool)))      # j >= i
        rows = where(eye, 1.0, unsqueeze(xl, -2).expand(*xl.shape[:-1], n, n))  # row i: x with x[i] = 1
        p = Cumprod(rows.ndim - 1)(rows)                            # p[i, j] = prod_{k<=j, k!=i} x[k]
        gx = where(later, p * unsqueeze(gl, -2), 0.0).sum(-1)
        return transpose(gx, a, -1)


def cumsum(input, dim, *, dtype=None):
    """The running sum along ``dim``."""
    x = input if dtype is None else input.to(dtype)
    (axis,) = normalize_dims(dim, max(x.ndim, 1))
    return Cumsum(axis)(x) if x.ndim else x * 1


def cumprod(input, dim, *, dtype=None):
    """The running product along ``dim``."""
    x = input if dtype is None else input.to(dtype)
    (axis,) = normalize_dims(dim, max(x.ndim, 1))
    return Cumprod(axis)(x) if x.ndim else x * 1
