"""Activations beyond the core's relu/sigmoid/tanh. Two primitives (erf, softplus); the rest are composites
of primitives, so their gradients (and second derivatives) come for free."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function, is_grad_enabled
from .elementwise import clamp, exp, logical_and, relu as _relu, scalar_like, sigmoid, tanh, where
from .reduce import implicit_dim, softmax



def _inplace(input, result, inplace):
    """PyTorch's ``inplace=True``: ``result`` written into ``input``, and ``input`` returned. minigrad
    records no in-place ops in a graph, so where autograd records the call (grad mode on and ``input``
    requiring grad) the result comes as a new tensor instead, as ``x += y`` does inside a graph; without
    autograd (inference, ``no_grad``) the input's memory is reused."""
    if not inplace or (input.requires_grad and is_grad_enabled()):
        return result
    return input.copy_(result)


def relu(input, inplace=False):
    """max(x, 0) (``minigrad.relu`` with PyTorch's ``inplace=`` of ``F.relu``)."""
    return _inplace(input, _relu(input), inplace)

class Erf(Function):
    def forward(self, x):
        return backend.erf(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * (2 / math.sqrt(math.pi)) * exp(-(x * x))


def erf(x):
    """The error function. d/dx = 2/sqrt(pi) e^(-x^2)."""
    return Erf()(x)


class Softplus(Function):
    """log(1 + e^x) computed as max(x, 0) + log1p(e^-|x|): no overflow at x = 1e4, exact near 0."""

    def forward(self, x):
        xp = self.xp
        return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * sigmoid(x)


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


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _inplace(input, input * tanh(Softplus()(input)), inplace)


class Softshrink(Function):
    """y = x - lambd where x > lambd, x + lambd where x < -lambd, else 0; dy/dx = 1 where |x| > lambd."""
    save_inputs = False

    def __init__(self, lambd):
        self.lambd = lambd

    def forward(self, x):                    # raw NumPy/CuPy arrays in, one array out
        self.mask = self.xp.abs(x) > self.lambd
        return (x - self.lambd * self.xp.sign(x)) * self.mask

    def backward(self, gy):                  # Tensors, written with minigrad ops: differentiable again
        return gy * self.wrap(self.mask.astype(gy.dtype))


def softshrink(input, lambd=0.5):
    """Shrink x towards 0 by ``lambd``, zero inside [-lambd, lambd] (PyTorch's F.softshrink)."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    return Softshrink(lambd)(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return _inplace(input, where(input > 0, input, input * negative_slope), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]. As in PyTorch the gradient passes only strictly inside the
    interval (clamp's passes at its ends too): relu6 at 0 has gradient 0, like relu."""
    y = where(logical_and(input > min_val, input < max_val), input, clamp(input.detach(), min_val, max_val))
    return _inplace(input, y, inplace)


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (e^x - 1) (the exponent is clipped at 0 so it never overflows)."""
    return _inplace(input, where(input > 0, input, (exp(clamp(input, max=0.0)) - 1) * alpha), inplace)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return _inplace(input, input * sigmoid(input), inplace)


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
    return _inplace(input, hardtanh(input / 6 + 0.5, 0.0, 1.0), inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return _inplace(input, input * hardsigmoid(input), inplace)


def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - tanh(input)


def softmin(input, dim=None):
    """softmax(-x) along ``dim`` (None: PyTorch's implicit choice, with its warning; see ``softmax``)."""
    if dim is None:
        dim = implicit_dim("softmin", input.ndim)
    return softmax(-input, dim)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    return _inplace(input, where(input > threshold, input, scalar_like(value, input)), inplace)


__all__ = ["elu", "erf", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish",
           "relu", "relu6", "silu", "softmin", "softplus", "softshrink", "softsign", "tanhshrink", "threshold"]
