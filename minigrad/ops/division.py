"""Integer-style division and closeness tests: floor_divide (``//``), remainder (``%``), isclose, allclose."""
from __future__ import annotations

from ..tensor import Tensor
from .elementwise import abs, as_tensor_pair, isfinite, isnan, le, logical_and, logical_or, mul, sub, where


def floor_divide(input, other):
    """``floor(input / other)``, rounding toward minus infinity as PyTorch does since 1.13 (``//``). Its
    gradient is zero almost everywhere, so it gives none."""
    a, b = as_tensor_pair(input, other)
    return Tensor._wrap(a._xp.floor_divide(a.array, b.array))


def remainder(input, other):
    """``input - floor_divide(input, other) * other``: the sign of the divisor, as Python's ``%``. Gradients:
    1 for input, ``-floor(input / other)`` for other."""
    a, b = as_tensor_pair(input, other)
    return sub(a, mul(floor_divide(a, b), b))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol * |other|`` element-wise (infinities equal when they match)."""
    a, b = as_tensor_pair(input, other)
    a, b = a.detach(), b.detach()
    finite = logical_and(isfinite(a), isfinite(b))
    a0, b0 = where(finite, a, 0.0), where(finite, b, 0.0)                  # no inf - inf (a NumPy warning)
    close = where(finite, le(abs(a0 - b0), atol + rtol * abs(b0)), a == b)   # infinities: equal or not close
    return logical_or(close, logical_and(isnan(a), isnan(b))) if equal_nan else close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when :func:`isclose` holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())
