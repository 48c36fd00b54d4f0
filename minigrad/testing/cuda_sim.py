"""A simulated CUDA device: a stand-in for CuPy that runs on the CPU, for testing the GPU path without a GPU.

With ``MINIGRAD_SIMULATE_CUDA=1`` (or ``=2`` for two devices, ``cuda:0`` and ``cuda:1``) minigrad loads this
module where it would load CuPy. ``'cuda'`` tensors then hold :class:`ndarray`, which behaves like
``cupy.ndarray`` where it matters for finding GPU bugs:

- ``numpy.asarray(a)`` raises TypeError (CuPy refuses implicit conversion); ``a.get()`` copies to the host;
- mixing it with a host ``numpy.ndarray`` in arithmetic, a ufunc or a NumPy function raises TypeError;
- the array namespace (this module, what ops get from ``backend.xp_of``) and the array's methods offer only
  what CuPy has (CuPy's own lists when CuPy imports, else those of ``cupy_api.py``, read from CuPy 14.2);
- each array belongs to one device; ``cuda.Device(i)`` selects where new arrays go, and arrays of two
  devices do not mix. (Unlike CuPy, an array of another device than the current one is computed on
  without complaint: minigrad runs every Function and in-place update on its tensor's device, but the
  simulator does not check the code between them.)

Underneath, values are NumPy arrays and the hot loops are minigrad's CPU kernels, so it is fast enough to
train on. What it cannot show is the hardware: CUDA kernels (those run under Numba's CUDA simulator, see
``kernels/gpu.py``), memory limits, streams and speed.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import types

import numpy as np

try:                                   # CuPy's own API lists when it imports, else the checked-in ones
    import cupy as _real_cupy
    FUNCTIONS = frozenset(n for n in dir(_real_cupy) if not n.startswith("_"))
    NDARRAY = frozenset(n for n in dir(_real_cupy.ndarray) if not n.startswith("_"))
except Exception:
    from .cupy_api import FUNCTIONS, NDARRAY

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
             "array explicitly.")


def device_count():
    """How many simulated devices ``MINIGRAD_SIMULATE_CUDA`` asks for (1 when set to anything but a count)."""
    value = os.environ.get("MINIGRAD_SIMULATE_CUDA", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


# ------------------------------------------------------------------------------------------ devices
_local = threading.local()


def _current():
    return getattr(_local, "device", 0)


class _Device:
    """``cupy.cuda.Device(i)``: a context manager that makes device ``i`` current."""

    def __init__(self, device=None):
        self.id = _current() if device is None else int(device)
        if not 0 <= self.id < device_count():
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id} (the simulator has "
                               f"{device_count()} device(s); set MINIGRAD_SIMULATE_CUDA=N for more)")

    def use(self):
        _local.device = self.id

    def synchronize(self):
        pass

    def __enter__(self):
        self._previous = _current()
        self.use()
        return self

    def __exit__(self, *exc):
        _local.device = self._previous

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id} (simulated)>"


cuda = types.SimpleNamespace(
    Device=_Device,
    runtime=types.SimpleNamespace(getDeviceCount=device_count),
    is_available=lambda: True,
    get_device_id=_current,
    Stream=types.SimpleNamespace(null=types.SimpleNamespace(synchronize=lambda: None)),
)


# ------------------------------------------------------------------------------------------- arrays
def _unwrap(value, device=None, what="argument"):
    """The NumPy value behind ``value`` (recursing into lists and tuples); a host array is refused."""
    if isinstance(value, ndarray):
        if device is not None and value._device != device:
            raise ValueError(f"array on device {value._device} used with an array on device {device} "
                             f"(the simulator, like CUDA, does not mix devices implicitly)")
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}: a host numpy.ndarray was given as {what} to an "
                        f"operation on the simulated CUDA device; move it there first (cupy.asarray)")
    if type(value) in (list, tuple):              # (a NamedTuple such as a Geometry holds no arrays)
        return type(value)(_unwrap(v, device, what) for v in value)
    return value


def _device_of(values):
    for v in values:
        if isinstance(v, ndarray):
            return v._device
        if type(v) in (list, tuple):
            d = _device_of(v)
            if d is not None:
                return d
    return None


def _wrap(value, device):
    if isinstance(value, np.ndarray):
        return ndarray._of(value, device)
    if isinstance(value, np.generic):             # CuPy's reductions give 0-d device arrays, not scalars
        return ndarray._of(np.asarray(value), device)
    if type(value) is tuple:
        return tuple(_wrap(v, device) for v in value)
    if type(value) is list:
        return [_wrap(v, device) for v in value]
    return value


def _on_device(fn, name, owner=None):
    """``fn`` (a NumPy function, or a method of an array on device ``owner``) as CuPy would run it: device
    arrays in, device arrays out, on the current device."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        device = owner if owner is not None else _device_of(args)
        device = device if device is not None else _device_of(list(kwargs.values()))
        device = _current() if device is None else device
        args = _unwrap(args, device, f"an argument of {name}")
        kwargs = {k: _unwrap(v, device, f"{k}= of {name}") for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs), device)
    return run


class ndarray:
    """A simulated ``cupy.ndarray``: a NumPy array that lives on a simulated device."""
    __slots__ = ("_a", "_device")
    __array_priority__ = 1000

    def __init__(self, shape, dtype=float):
        self._a, self._device = np.empty(shape, dtype), _current()

    @classmethod
    def _of(cls, a, device):
        out = cls.__new__(cls)
        out._a, out._device = a, device
        return out

    # --- what CuPy refuses
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        kwargs = {k: _unwrap(v, self._device, f"{k}= of {ufunc.__name__}") for k, v in kwargs.items()}
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, self._device, f"out= of {ufunc.__name__}") for o in out)
        result = getattr(ufunc, method)(*_unwrap(inputs, self._device, f"an operand of {ufunc.__name__}"),
                                        **kwargs)
        if out is not None:                     # the result is the out array itself, as in NumPy
            return out[0] if len(out) == 1 else out
        return _wrap(result, self._device)

    def __array_function__(self, func, types_, args, kwargs):
        if func.__name__ not in FUNCTIONS:
            raise TypeError(f"numpy.{func.__name__} has no CuPy counterpart (cupy.{func.__name__} does not "
                            f"exist): it cannot run on a CUDA array")
        return _on_device(func, f"numpy.{func.__name__}")(*args, **kwargs)

    # --- what CuPy has
    def get(self, stream=None, order="C", out=None):
        """A NumPy copy on the host."""
        if out is not None:
            out[...] = self._a
            return out
        return self._a.copy(order=order)

    def set(self, arr, stream=None):
        self._a[...] = arr

    @property
    def device(self):
        return _Device(self._device)

    def __getattr__(self, name):
        if name not in NDARRAY:
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r} (the simulated CUDA array "
                                 f"offers only what CuPy's does)")
        value = getattr(self._a, name)
        return _on_device(value, f"ndarray.{name}", self._device) if callable(value) else _wrap(value, self._device)

    def __getitem__(self, key):
        return _wrap(self._a[_index(key, self._device)], self._device)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and value.ndim:         # CuPy copies a host array in (explicitly)
            value = np.asarray(value)
        else:
            value = _unwrap(value, self._device, "the value of a setitem")
        self._a[_index(key, self._device)] = value

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v, self._device) for v in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    def __copy__(self):
        return ndarray._of(self._a.copy(), self._device)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        return _rebuild, (self._a, self._device)

    def __dlpack__(self, *args, **kwargs):
        raise TypeError("the simulated CUDA array does not export DLPack")


def _rebuild(a, device):
    return ndarray._of(a, device)


def _index(key, device):
    """An index for the NumPy array: device arrays unwrapped; host index arrays allowed, as CuPy allows."""
    if isinstance(key, tuple):
        return tuple(_index(k, device) for k in key)
    if isinstance(key, ndarray):
        return key._a
    return key


def _operator(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
                      ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power),
                      ("matmul", np.matmul), ("and", np.bitwise_and), ("or", np.bitwise_or),
                      ("xor", np.bitwise_xor), ("lshift", np.left_shift), ("rshift", np.right_shift)]:
    setattr(ndarray, f"__{_name}__", _operator(_ufunc))
    setattr(ndarray, f"__r{_name}__", _operator(_ufunc, reflected=True))
    setattr(ndarray, f"__i{_name}__", (lambda u: lambda self, other: u(self, other, out=(self,)))(_ufunc))
for _name, _ufunc in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
                      ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(ndarray, f"__{_name}__", _operator(_ufunc))
ndarray.__neg__ = lambda self: np.negative(self)
ndarray.__pos__ = lambda self: np.positive(self)
ndarray.__abs__ = lambda self: np.absolute(self)
ndarray.__invert__ = lambda self: np.invert(self)
ndarray.__hash__ = None


# ------------------------------------------------------------------------------------- the namespace
def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` on the current device (a host array is copied there; one on another device moves)."""
    if isinstance(a, ndarray):
        if a._device == _current():
            return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
        return ndarray._of(np.array(a._a, dtype=dtype), _current())
    return ndarray._of(np.array(a, dtype=dtype, order=order or "K"), _current())


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    data = obj._a if isinstance(obj, ndarray) else obj
    return ndarray._of(np.array(data, dtype=dtype, copy=True, order=order, ndmin=ndmin), _current())


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    return a.get(order=order, out=out) if isinstance(a, ndarray) else np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


_DEFINED = {"ndarray", "asarray", "array", "asanyarray", "asnumpy", "get_array_module", "cuda", "random"}
asanyarray = asarray


def __getattr__(name):
    """Every other CuPy function: NumPy's, on device arrays (a name CuPy lacks is an AttributeError)."""
    if name not in FUNCTIONS or not hasattr(np, name):
        raise AttributeError(f"module 'cupy' has no attribute {name!r} (the simulated CuPy offers only what "
                             f"CuPy has)")
    value = getattr(np, name)
    if isinstance(value, (type, np.dtype)) or not callable(value):
        return value                         # dtypes (cupy.float32 is numpy.float32), constants
    if isinstance(value, np.ufunc):
        return value                          # ufuncs dispatch to ndarray.__array_ufunc__
    return _on_device(value, f"cupy.{name}")


# ---------------------------------------------------------------------------------------- random
class _Generator:
    """``cupy.random.Generator``: a seeded stream whose draws land on the current device."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)
        self.bit_generator = self._rng.bit_generator

    def __getattr__(self, name):
        return _on_device(getattr(self._rng, name), f"Generator.{name}")


random = types.SimpleNamespace(default_rng=_Generator, Generator=_Generator)


# ---------------------------------------------------------------------------------------- cupyx
def _scatter_add(a, slices, value):
    np.add.at(_unwrap(a), _index(slices, a._device), _unwrap(value, a._device) if isinstance(value, ndarray)
              else value)


def _erf(x):
    try:
        from scipy.special import erf
    except ImportError:
        import math
        erf = np.vectorize(math.erf, otypes=[x.dtype])
    return _wrap(np.asarray(erf(x._a), dtype=x.dtype), x._device)


cupyx = types.SimpleNamespace(scatter_add=_scatter_add,
                              scipy=types.SimpleNamespace(special=types.SimpleNamespace(erf=_erf)))


# ---------------------------------------------------------------------------------------- kernels
class Kernels:
    """minigrad's CPU kernels behind the GPU kernel contract: device arrays in, device arrays out."""

    def __init__(self, cpu):
        self._cpu = cpu
        self.CHUNK_BYTES, self.workers = 2 ** 62, lambda: 1

    def map_chunks(self, fn, chunks):
        return [fn(s, e, True) for s, e in chunks]

    def blas_one_thread(self):
        return self._cpu.blas_one_thread()

    def __getattr__(self, name):
        kernel = getattr(self._cpu, name)

        def run(*args, **kwargs):
            device = _device_of(args)
            args = _unwrap(args, device, f"an argument of the kernel {name}")
            kwargs = {k: _unwrap(v, device, f"{k}= of the kernel {name}") for k, v in kwargs.items()}
            return _wrap(kernel(*args, **kwargs), device)
        return run
