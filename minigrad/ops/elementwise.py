"""Element-wise primitives. Each Function holds its forward and, right under it, its backward (written
with minigrad ops, so it is differentiable again); the user function that applies it follows the class."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend, dtypes
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor


# ------------------------------------------------------------------------------------ operand handling

def scalar_like(value, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor on ``like``'s device; a float never upcasts a float32 tensor."""
    if isinstance(value, bool):
        dtype = like.dtype if like.dtype.kind != "b" else dtypes.bool
    elif isinstance(value, numbers.Integral):
        dtype = like.dtype if like.dtype.kind in "iuf" else dtypes.int64
    elif isinstance(value, numbers.Real):
        dtype = like.dtype if like.dtype.kind == "f" else dtypes.get_default_dtype()
    else:
        raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")
    with backend.on(like.device):
        return Tensor._wrap(like._xp.asarray(value, dtype=dtype))


def as_tensor_pair(a, b):
    """Make both operands Tensors of one dtype (PyTorch promotion: float beats int, wider beats narrower)."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
        a = scalar_like(a, b) if isinstance(a, numbers.Number) else _from_array(a, b)
    elif not isinstance(b, Tensor):
        b = scalar_like(b, a) if isinstance(b, numbers.Number) else _from_array(b, a)
    if a.dtype != b.dtype:
        dtype = dtypes.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dtype), b.to(dtype)
    return a, b


def _from_array(value, like):
    if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        return Tensor._wrap(backend.to_device(value, like.device))
    raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")


def _check_broadcast(op, a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together") from None


def _binary(Op, a, b):
    a, b = as_tensor_pair(a, b)
    if a.shape != b.shape:
        _check_broadcast(Op.__name__.lower(), a, b)
    return Op()(a, b)


# ------------------------------------------------------------------------------------ arithmetic

class Add(Function):
    save_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


def add(a, b):
    """a + b, broadcast."""
    return _binary(Add, a, b)


class Sub(Function):
    save_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy if self.needs_input_grad[1] else None


def sub(a, b):
    """a - b, broadcast."""
    return _binary(Sub, a, b)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.saved_inputs()
        return (gy * b if self.needs_input_grad[0] else None,
                gy * a if self.needs_input_grad[1] else None)


def mul(a, b):
    """a * b, broadcast."""
    return _binary(Mul, a, b)


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.saved_inputs()
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


def div(a, b):
    """a / b, broadcast. Integer tensors divide to the default float dtype, as in PyTorch."""
    a, b = as_tensor_pair(a, b)
    if a.dtype.kind != "f":
        a, b = a.to(dtypes.get_default_dtype()), b.to(dtypes.get_default_dtype())
    return _binary(Div, a, b)


class Neg(Function):
    save_inputs = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def neg(x):
    """-x."""
    return Neg()(x)


class Pow(Function):
    """a ** b; the gradient for b (a^b log a) is computed only when b requires it. As in PyTorch, the
    gradient for a is 0 where b == 0 and the one for b is 0 where a == 0 and b >= 0 (not 0 * inf)."""

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.saved_inputs()
        zero = scalar_like(0, gy)
        ga = where(b == 0, zero, gy * b * a ** (b - 1)) if self.needs_input_grad[0] else None
        gb = (where(logical_and(a == 0, b >= 0), zero, gy * a ** b * log(a))
              if self.needs_input_grad[1] else None)
        return ga, gb


def pow(a, b):
    """a ** b, broadcast."""
    return _binary(Pow, a, b)


# ------------------------------------------------------------------------------------ unary maths

class Exp(Function):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy):
        return gy * self.saved_output()


def exp(x):
    """e^x."""
    return Exp()(x)


class Log(Function):
    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy / x


def log(x):
    """Natural log."""
    return Log()(x)


class Sqrt(Function):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.saved_output())


def sqrt(x):
    """sqrt(x)."""
    return Sqrt()(x)


def rsqrt(x):
    """1 / sqrt(x)."""
    return pow(x, -0.5)


class Abs(Function):
    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * sign(x)


def abs(x):
    """|x| (its gradient at 0 is 0, as in PyTorch)."""
    return Abs()(x)


class Sin(Function):
    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return gy * cos(x)


def sin(x):
    """sin(x)."""
    return Sin()(x)


class Cos(Function):
    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, gy):
        x, = self.saved_inputs()
        return -gy * sin(x)


def cos(x):
    """cos(x)."""
    return Cos()(x)


class Tanh(Function):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, gy):
        y = self.saved_output()
        return gy * (1 - y * y)


def tanh(x):
    """tanh(x)."""
    return Tanh()(x)


class Sigmoid(Function):
    save_inputs = False
    save_output = True

    def forward(self, x):
        xp = self.xp
        # exp of -|x| never overflows: sigmoid(x) = 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, gy):
        y = self.saved_output()
        return gy * y * (1 - y)


def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow."""
    return Sigmoid()(x)


class ReLU(Function):
    """Differentiated through its output (alive anyway: the next layer reads it), so no mask is kept
    between forward and backward. First order, the gradient is one kernel pass (``relu_backward``);
    with ``create_graph=True`` it is gy times a 0/1 constant, a graph."""
    save_inputs = False
    save_output = True

    def forward(self, x):
        return self.xp.maximum(x, 0)

    def backward(self, gy):
        y = self.saved_output().array
        if is_grad_enabled():
            return gy * self.wrap((y > 0).astype(gy.dtype))
        return self.wrap(backend.kernels(y).relu_backward(gy.array, y))


def relu(x):
    """max(x, 0) (its gradient at 0 is 0, as in PyTorch)."""
    return ReLU()(x)


class Clamp(Function):
    save_inputs = False

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = self.xp
        self.mask = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.mask &= x >= self.lo
        if self.hi is not None:
            self.mask &= x <= self.hi
        return xp.clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.wrap(self.mask.astype(gy.dtype))


def clamp(x, min=None, max=None):
    """Clip x to [min, max]; the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Tensor bounds, as PyTorch allows: each element takes x or a bound, which then gets its gradient
        # (max wins where min > max)
        y = x if min is None else where(x < min, min, x)
        return y if max is None else where(y > max, max, y)
    return Clamp(min, max)(x)


clip = clamp


class Maximum(Function):
    """Ties share the gradient equally, as in PyTorch."""
    save_inputs = False

    def forward(self, a, b):
        xp = self.xp
        self.wa = (a > b) + 0.5 * (a == b)
        return xp.maximum(a, b)

    def backward(self, gy):
        wa = self.wrap(self.wa.astype(gy.dtype))
        return gy * wa, gy * (1 - wa)


def maximum(a, b):
    """Element-wise max of two tensors (ties split the gradient)."""
    return _binary(Maximum, a, b)


class Minimum(Maximum):
    def forward(self, a, b):
        self.wa = (a < b) + 0.5 * (a == b)
        return self.xp.minimum(a, b)


def minimum(a, b):
    """Element-wise min of two tensors (ties split the gradient)."""
    return _binary(Minimum, a, b)


class Where(Function):
    save_inputs = False

    def forward(self, cond, a, b):
        self.cond = cond
        return self.xp.where(cond, a, b)

    def backward(self, gy):
        cond = self.wrap(self.cond)
        zero = scalar_like(0, gy)
        return (None,
                where(cond, gy, zero) if self.needs_input_grad[1] else None,
                where(cond, zero, gy) if self.needs_input_grad[2] else None)


def where(condition, input, other):
    """``input`` where ``condition`` is true, else ``other`` (broadcast)."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition.dtype != dtypes.bool:
        condition = condition.to(dtypes.bool)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):   # two Python numbers, as in PyTorch
        input = scalar_like(input, condition)
    a, b = as_tensor_pair(input, other)
    return Where()(condition, a, b)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is true, else x."""
    return where(mask, scalar_like(value, x) if not isinstance(value, Tensor) else value, x)


class Cast(Function):
    save_inputs = False

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy   # the engine casts it back to the input's dtype


def cast(x, dtype):
    """x converted to ``dtype`` (differentiable between floating types)."""
    return Cast(np.dtype(dtype))(x)


class Clone(Function):
    save_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x):
    """A copy of x that stays in the graph."""
    return Clone()(x)


class ToDevice(Function):
    save_inputs = False

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.source)


def to_device(x, device):
    """x moved to ``device``; the gradient moves back."""
    return ToDevice(backend.device(device))(x)


# ------------------------------------------------------------------------------------ no gradient

def _compare(fn, a, b):
    a, b = as_tensor_pair(a, b)
    _check_broadcast(fn, a, b)
    return Tensor._wrap(getattr(a._xp, fn)(a.array, b.array))


def eq(a, b): return _compare("equal", a, b)


def ne(a, b): return _compare("not_equal", a, b)
def lt(a, b): return _compare("less", a, b)


def le(a, b): return _compare("less_equal", a, b)
def gt(a, b): return _compare("greater", a, b)


def ge(a, b): return _compare("greater_equal", a, b)
def logical_and(a, b): return _compare("logical_and", a, b)


def logical_or(a, b): return _compare("logical_or", a, b)
def logical_not(x): return Tensor._wrap(x._xp.logical_not(x.array))


def sign(x): return Tensor._wrap(x._xp.sign(x.array))
def isnan(x): return Tensor._wrap(x._xp.isnan(x.array))


def isfinite(x): return Tensor._wrap(x._xp.isfinite(x.array))
def isinf(x): return Tensor._wrap(x._xp.isinf(x.array))
