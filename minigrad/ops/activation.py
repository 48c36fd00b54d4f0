"""Activations beyond the core's relu/sigmoid/tanh. Two primitives (erf, softplus); the rest are composites
of primitives, so their gradients (and second derivatives) come for free."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from .elementwise import clamp, exp, logical_and, scalar_like, sigmoid, tanh, where
from .reduce import softmax


class Erf(Function):
    def forward(self, x):
        return backend.erf(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * (2 / math.sqrt(math.pi)) * exp(-(x * x))


class Softplus(Function):
    """log(1 + e^x) computed as max(x, 0) + log1p(e^-|x|): no overflow at x = 1e4, exact near 0."""

    def forward(self, x):
        xp = self.xp
        return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * sigmoid(x)


def erf(x):
    """The error function. d/dx = 2/sqrt(pi) e^(-x^2)."""
    return Erf()(x)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return where(input > 0, input, input * negative_slope)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]. As in PyTorch the gradient passes only strictly inside the
    interval (clamp's passes at its ends too): relu6 at 0 has gradient 0, like relu."""
    return where(logical_and(input > min_val, input < max_val), input, clamp(input.detach(), min_val, max_val))


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (e^x - 1) (the exponent is clipped at 0 so it never overflows)."""
    return where(input > 0, input, (exp(clamp(input, max=0.0)) - 1) * alpha)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's linear regime)."""
    z = input * beta if beta != 1 else input
    y = Softplus()(z)
    if beta != 1:
        y = y / beta
    return where(z > threshold, input, y)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable for |x| of 1e4."""
    return -Softplus()(-input)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return input * sigmoid(input)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (tanh(inner) + 1)
    if approximate != "none":
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return input * 0.5 * (erf(input * (1 / math.sqrt(2.0))) + 1)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return hardtanh(input / 6 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return input * hardsigmoid(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return input * tanh(Softplus()(input))


def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - tanh(input)


def softmin(input, dim=None):
    """softmax(-x) along ``dim``."""
    return softmax(-input, dim)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    return where(input > threshold, input, scalar_like(value, input))


__all__ = ["elu", "erf", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish",
           "relu6", "silu", "softmin", "softplus", "softsign", "tanhshrink", "threshold"]
