"""The Tensor: an array (NumPy or CuPy), an optional gradient, and the Function that made it.

Every math method is a one-liner that calls a primitive in ``minigrad.ops``; the derivatives live there.
``t.array`` is the raw array (minigrad's name); ``t.data`` is PyTorch's detached alias.
"""
from __future__ import annotations

import functools

import numpy as np

from . import backend, dtypes, random


def _check_can_require_grad(dtype):
    if dtype.kind != "f":
        raise RuntimeError(f"only tensors of floating point dtype can require gradients, got "
                           f"{dtypes.name(dtype)} (make it float: t.float() or dtype=minigrad.float32"
                           + ("; minigrad's backward formulas are real: complex autograd is not supported)"
                              if dtype.kind == "c" else ")"))


class Tensor:
    __slots__ = ("array", "_requires_grad", "_grad", "grad_fn", "_version", "_retains_grad", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None          # NumPy defers to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.array
        elif not (isinstance(data, np.ndarray) or backend.is_cupy_array(data)):
            data = _array_from_python(data, None)
        self._init(_checked_array(data), requires_grad)

    def _init(self, array, requires_grad):
        if requires_grad:
            _check_can_require_grad(array.dtype)
        self.array = array
        self._requires_grad = bool(requires_grad)
        self._grad = None
        self.grad_fn = None
        self._version = [0]           # shared with views, bumped by in-place ops
        self._retains_grad = False

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        t = cls.__new__(cls)
        t._init(array, requires_grad)
        return t

    # ------------------------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return backend.device_of(self.array)

    @property
    def is_cuda(self):
        return backend.is_cupy_array(self.array)

    @property
    def _xp(self):
        return backend.xp_of(self.array)

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        """As ``requires_grad_(value)``: only floating tensors can require gradients (an integer tensor's
        gradient would be truncated), and only a leaf's flag can be turned off."""
        if value:
            _check_can_require_grad(self.dtype)
        elif self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use t.detach() for a "
                               "result that needs no gradient")
        self._requires_grad = bool(value)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        """``None`` or a Tensor of this tensor's shape, dtype and device, as in PyTorch (a raw array or a
        wrong shape is refused here, not at the optimizer step)."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {tuple(value.shape)}, expected the tensor's shape "
                                   f"{tuple(self.shape)}")
            if value.dtype != self.dtype:
                raise RuntimeError(f"assigned grad has dtype {dtypes.name(value.dtype)}, expected the tensor's "
                                   f"dtype {dtypes.name(self.dtype)}")
            if value.device != self.device:
                raise RuntimeError(f"assigned grad is on device {value.device}, expected the tensor's device "
                                   f"{self.device}")
        self._grad = value

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def data(self):
        """A tensor sharing this one's array, detached from the graph (PyTorch's ``.data``)."""
        return Tensor._wrap(self.array, False)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else value

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.array.size)

    def element_size(self):
        return self.array.itemsize

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to a Python "
                               f"scalar (shape {tuple(self.shape)})")
        return self.array.item()

    def tolist(self):
        return backend.to_numpy(self.array).tolist()

    def numpy(self):
        """The values as a NumPy array (shares memory on the CPU; copied from a GPU)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad; use t.detach().numpy()")
        return backend.to_numpy(self.array)

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self.array)
        return a if dtype is None else a.astype(dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self.array.size} elements is ambiguous")
        return bool(self.array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.array), separator=", ", prefix="tensor(",
                               precision=4, threshold=1000)
        extra = []
        if self.device.type != "cpu":
            extra.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool) or self.array.size == 0:
            extra.append(f"dtype={dtypes.name(self.dtype)}")
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    def detach(self):
        """A tensor with the same array (shared memory) and no graph."""
        t = Tensor._wrap(self.array, False)
        t._version = self._version
        return t

    def detach_(self):
        self.grad_fn, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf:
            raise RuntimeError("requires_grad_() can only change leaf tensors; use detach() on a result first")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspecting intermediate gradients)."""
        if self.is_leaf:
            return
        self._retains_grad = True

    def clone(self):
        return ops.clone(self)

    # ------------------------------------------------------------------------------------ devices, dtypes
    def to(self, *args, dtype=None, device=None, copy=False):
        """``t.to('cuda')``, ``t.to(minigrad.float64)``, ``t.to(other_tensor)``, ``t.to(device, dtype)``."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, backend.Device)):
                device = a
            else:
                dtype = a
        t = self
        if device is not None and backend.device(device) != t.device:
            t = ops.to_device(t, backend.device(device))
        if dtype is not None and np.dtype(dtype) != t.dtype:
            t = ops.cast(t, np.dtype(dtype))
        if copy and t is self:
            t = t.clone()
        return t

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}" if not isinstance(device, str) else device)

    def type(self, dtype):
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool)

    # ------------------------------------------------------------------------------------ operators
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __lt__(self, other): return ops.lt(self, other)
    def __le__(self, other): return ops.le(self, other)
    def __gt__(self, other): return ops.gt(self, other)
    def __ge__(self, other): return ops.ge(self, other)
    def __eq__(self, other): return ops.eq(self, other)
    def __ne__(self, other): return ops.ne(self, other)
    def __invert__(self): return ops.logical_not(self)
    def __and__(self, other): return ops.logical_and(self, other)
    def __or__(self, other): return ops.logical_or(self, other)
    def __getitem__(self, key): return ops.getitem(self, key)

    # ------------------------------------------------------------------------------------ math methods
    def add(self, other, alpha=1): return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))
    def sub(self, other, alpha=1): return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))
    def mul(self, other): return ops.mul(self, other)
    def div(self, other): return ops.div(self, other)
    def pow(self, exponent): return ops.pow(self, exponent)
    def matmul(self, other): return ops.matmul(self, other)
    def neg(self): return ops.neg(self)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def rsqrt(self): return ops.rsqrt(self)
    def square(self): return ops.mul(self, self)
    def abs(self): return ops.abs(self)
    def sign(self): return ops.sign(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    clip = clamp
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def where(self, condition, other): return ops.where(condition, self, other)
    def masked_fill(self, mask, value): return ops.masked_fill(self, mask, value)
    def eq(self, other): return ops.eq(self, other)
    def ne(self, other): return ops.ne(self, other)
    def lt(self, other): return ops.lt(self, other)
    def le(self, other): return ops.le(self, other)
    def gt(self, other): return ops.gt(self, other)
    def ge(self, other): return ops.ge(self, other)
    def isnan(self): return ops.isnan(self)
    def isfinite(self): return ops.isfinite(self)

    def sum(self, dim=None, keepdim=False, dtype=None): return ops.sum(self, dim, keepdim, dtype=dtype)
    def mean(self, dim=None, keepdim=False): return ops.mean(self, dim, keepdim)
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.var(self, dim, unbiased, keepdim, correction=correction)
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.std(self, dim, unbiased, keepdim, correction=correction)
    def max(self, dim=None, keepdim=False): return ops.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return ops.min(self, dim, keepdim)
    def amax(self, dim=None, keepdim=False): return ops.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return ops.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return ops.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return ops.argmin(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return ops.logsumexp(self, dim, keepdim)
    def softmax(self, dim): return ops.softmax(self, dim)
    def log_softmax(self, dim): return ops.log_softmax(self, dim)
    def norm(self, p=2, dim=None, keepdim=False): return ops.norm(self, p, dim, keepdim)
    def all(self, dim=None, keepdim=False): return ops.all(self, dim, keepdim)
    def any(self, dim=None, keepdim=False): return ops.any(self, dim, keepdim)

    def reshape(self, *shape): return ops.reshape(self, *shape)
    def view(self, *shape): return ops.view(self, *shape)
    def view_as(self, other): return ops.reshape(self, other.shape)
    def reshape_as(self, other): return ops.reshape(self, other.shape)
    def permute(self, *dims): return ops.permute(self, *dims)
    def transpose(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def t(self): return ops.transpose(self, 0, 1) if self.ndim == 2 else self
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def expand(self, *sizes): return ops.expand(self, *sizes)
    def expand_as(self, other): return ops.expand(self, *other.shape)
    def repeat(self, *sizes): return ops.repeat(self, *sizes)
    def split(self, split_size_or_sections, dim=0): return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    def contiguous(self): return self

    # ------------------------------------------------------------------------------------ in place
    # For updates that autograd does not see (parameter steps under no_grad, buffers, data prep).
    # Each bumps the version counter, so a backward that needs the old value raises instead of lying.
    def _check_inplace(self, *others):
        if autograd.is_grad_enabled() and (self.requires_grad or any(
                isinstance(o, Tensor) and o.requires_grad for o in others)):
            what = "a leaf tensor that requires grad" if self.is_leaf and self.requires_grad else \
                "a tensor that is part of an autograd graph"
            raise RuntimeError(
                f"in-place operation on {what} (shape {tuple(self.shape)}): minigrad records no in-place "
                f"ops in the graph. Wrap the update in `with minigrad.no_grad():`, or write it out of place "
                f"(y = x + 1).")

    def _operand(self, value):
        if isinstance(value, Tensor):
            if value.device != self.device:
                raise RuntimeError(f"in-place operation: expected a value on {self.device}, got {value.device}")
            return value.array
        return value

    def _bump(self):
        self._version[0] += 1
        return self

    def _on_its_device(method):
        """Runs an in-place method with CuPy on this tensor's device (CuPy computes on the current one)."""
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            if type(self.array) is np.ndarray:
                return method(self, *args, **kwargs)
            with backend.on(self.device):
                return method(self, *args, **kwargs)
        return run

    @_on_its_device
    def add_(self, other, alpha=1):
        self._check_inplace(other)
        v = self._operand(other)
        self.array += v if alpha == 1 else alpha * v
        return self._bump()

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    @_on_its_device
    def mul_(self, other):
        self._check_inplace(other)
        self.array *= self._operand(other)
        return self._bump()

    @_on_its_device
    def div_(self, other):
        self._check_inplace(other)
        self.array /= self._operand(other)
        return self._bump()

    @_on_its_device
    def addcmul_(self, t1, t2, value=1):
        self._check_inplace(t1, t2)
        self.array += value * (self._operand(t1) * self._operand(t2))
        return self._bump()

    @_on_its_device
    def addcdiv_(self, t1, t2, value=1):
        self._check_inplace(t1, t2)
        self.array += value * (self._operand(t1) / self._operand(t2))
        return self._bump()

    @_on_its_device
    def clamp_(self, min=None, max=None):
        self._check_inplace()
        self._xp.clip(self.array, min, max, out=self.array)
        return self._bump()

    def zero_(self):
        return self.fill_(0)

    @_on_its_device
    def fill_(self, value):
        self._check_inplace(value)
        self.array[...] = self._operand(value)
        return self._bump()

    @_on_its_device
    def copy_(self, src):
        """Copy ``src``'s values into this tensor (broadcast, cast, moved across devices as needed)."""
        self._check_inplace(src)
        src = src.to(self.device).array if isinstance(src, Tensor) else src
        try:
            np.broadcast_shapes(np.shape(src), self.shape)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {tuple(np.shape(src))} cannot be broadcast to "
                               f"the destination's shape {tuple(self.shape)}") from None
        self.array[...] = src
        return self._bump()

    @_on_its_device
    def __setitem__(self, key, value):
        self._check_inplace(value)
        self.array[ops.index_key(key)] = self._operand(value)
        self._bump()

    def uniform_(self, a=0.0, b=1.0, generator=None):
        if self.numel():
            self.copy_(Tensor._wrap(random.uniform(self.shape, self.dtype, self.device, generator)) * (b - a) + a)
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        if self.numel():
            self.copy_(Tensor._wrap(random.normal(self.shape, self.dtype, self.device, generator)) * std + mean)
        return self

    # ``x += y`` updates x in place when autograd is not involved; inside a graph it rebinds x to x + y
    # (PyTorch rewrites the graph in place instead; here other references to the old x keep the old value).
    def _iop(self, inplace, outplace, other):
        if autograd.is_grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            return outplace(self, other)
        return inplace(other)

    def __iadd__(self, other): return self._iop(self.add_, ops.add, other)
    def __isub__(self, other): return self._iop(self.sub_, ops.sub, other)
    def __imul__(self, other): return self._iop(self.mul_, ops.mul, other)
    def __itruediv__(self, other): return self._iop(self.div_, ops.div, other)


_SUPPORTED = "bool, uint8, int8, int16, int32, int64, float16, float32, float64 (and complex)"


def _checked_array(a):
    """``a`` if a tensor can hold it, in native byte order: a big-endian array (``'>f4'``) is converted (a
    copy; PyTorch refuses it), and object, string, datetime and void arrays are refused with a TypeError."""
    if a.dtype.kind not in "biufc":
        raise TypeError(f"can't make a tensor of a NumPy array of dtype {a.dtype}: the supported dtypes are "
                        f"{_SUPPORTED}")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def _array_from_python(data, dtype):
    """NumPy array from Python data with PyTorch's dtype rules (floats -> the default float, ints -> int64)."""
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        data = _nested_map(data)
    a = np.asarray(data)
    if dtype is not None:
        return a.astype(dtype, copy=False)
    if a.dtype.kind == "f":
        return a.astype(dtypes.get_default_dtype(), copy=False)
    if a.dtype.kind in "iu":
        return a.astype(dtypes.int64, copy=False)
    if a.dtype.kind == "b":
        return a
    raise TypeError(f"cannot make a tensor from data of type {type(data).__name__} (NumPy dtype {a.dtype})")


def _flat(data):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flat(d)
        else:
            yield d


def _nested_map(data):
    if isinstance(data, Tensor):
        return backend.to_numpy(data.array)
    if isinstance(data, (list, tuple)):
        return [_nested_map(d) for d in data]
    return data


# the one late import: the ops and the engine import Tensor, and Tensor's methods call them
from . import autograd, ops  # noqa: E402  # the link
