"""NumPy or CuPy? The one module that knows.

Every other module asks this one: ``xp_of(array)`` gives the array module (``numpy`` or ``cupy``),
``device_of(array)`` the :class:`Device`, ``to_device(array, device)`` moves an array, and
``kernels(array)`` gives the matching pair of hot-loop kernels (``minigrad.kernels.cpu`` or ``.gpu``).
CuPy is imported lazily, the first time a CUDA device is asked for, so ``import minigrad`` never needs it.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys

import numpy as np

_cupy = None          # the cupy module once loaded, False when it could not be imported
_cupyx = None         # and its cupyx
_cupy_error = None    # why it could not


def is_simulated() -> bool:
    """True when ``MINIGRAD_SIMULATE_CUDA`` makes 'cuda' the simulated device of ``minigrad.testing.cuda_sim``
    (a testing tool: CuPy's API on the CPU) instead of CuPy; unset, empty or 0 leaves CuPy's 'cuda'."""
    return os.environ.get("MINIGRAD_SIMULATE_CUDA", "") not in ("", "0")


def _load_cupy():
    global _cupy, _cupyx, _cupy_error
    if _cupy is None:
        if is_simulated():
            from .testing import cuda_sim
            _cupy, _cupyx = cuda_sim, cuda_sim.cupyx
            return _cupy
        try:
            import cupy
            import cupyx  # noqa: F401  (scatter_add)
            import cupyx.scipy.special  # noqa: F401  (erf)
            _cupy, _cupyx = cupy, cupyx
        except Exception as e:  # ImportError, or a CUDA library that fails to load
            _cupy, _cupy_error = False, e
    return _cupy or None


def is_cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU (or the simulated device is on: ``is_simulated``)."""
    cp = _load_cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


class DeviceUnavailableError(RuntimeError):
    """A device was asked for that this machine cannot give (no CuPy, or no GPU)."""


def _require_cupy():
    cp = _load_cupy()
    if cp is None:
        raise DeviceUnavailableError(
            "device 'cuda' needs CuPy, which could not be imported "
            f"({_cupy_error!r}); install it with `pip install minigrad[cuda12]` (or [cuda13])")
    if not is_cuda_available():
        raise DeviceUnavailableError("device 'cuda' was asked for, but CuPy sees no GPU on this machine")
    return cp


class Device:
    """Where a tensor's array lives: ``Device('cpu')``, ``Device('cuda')`` or ``Device('cuda:1')``.

    Compares equal to its string form, so ``t.device == 'cpu'`` works as in PyTorch.
    """
    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0' or a Device, got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        if idx:
            if not idx.isdigit():
                raise ValueError(f"bad device index in {spec!r}")
            index = int(idx)
        if kind == "cuda" and index is None:
            index = 0
        if kind == "cpu":
            index = None
        self.type, self.index = kind, index

    @property
    def xp(self):
        """The array module for this device: numpy or cupy."""
        return np if self.type == "cpu" else _require_cupy()

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except (ValueError, TypeError):
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = Device("cpu")


def device(spec) -> Device:
    """``minigrad.device('cuda:0')``: parse a device; raises a clear error if CUDA is asked for and missing."""
    d = spec if isinstance(spec, Device) else Device("cpu" if spec is None else spec)
    if d.type == "cuda":
        _require_cupy()
    return d


def on(dev: Device):
    """A context in which CuPy works on ``dev`` (CuPy allocates on, and computes on arrays of, the current
    device only); nothing for the CPU."""
    if dev.type == "cpu":
        return contextlib.nullcontext()
    return _require_cupy().cuda.Device(dev.index)


def nccl():
    """CuPy's NCCL binding (``cupy.cuda.nccl``, for ``minigrad.distributed``), or None where CuPy or its NCCL
    is missing, and on the simulated device (no NCCL there: the host fallback runs)."""
    if is_simulated() or _load_cupy() is None:
        return None
    try:
        from cupy.cuda import nccl as binding
        return binding
    except Exception:
        return None


def current_stream_ptr(a) -> int:
    """The raw pointer of the CUDA stream CuPy now runs on, for the CuPy array ``a``'s device."""
    return xp_of(a).cuda.get_current_stream().ptr


def is_cupy_array(a) -> bool:
    return _cupy not in (None, False) and isinstance(a, _cupy.ndarray)


def xp_of(a):
    """numpy or cupy, whichever owns ``a``."""
    return _cupy if is_cupy_array(a) else np


def device_of(a) -> Device:
    if is_cupy_array(a):
        return Device("cuda", a.device.id)
    return CPU


def to_device(a, dev: Device):
    """Return ``a`` as an array on ``dev`` (no copy when it is already there)."""
    dev = device(dev)
    if dev.type == "cpu":
        return a.get() if is_cupy_array(a) else np.asarray(a)
    cp = _require_cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(a)


def to_numpy(a):
    """A NumPy array with the values of ``a`` (copied from the GPU when needed)."""
    return a.get() if is_cupy_array(a) else np.asarray(a)


def asarray(data, dtype=None, dev: Device = CPU):
    """Make an array of ``data`` on ``dev``."""
    if dev.type == "cpu":
        return np.asarray(to_numpy(data) if is_cupy_array(data) else data, dtype=dtype)
    cp = _require_cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(data, dtype=dtype)


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices accumulated (np.add.at / cupyx.scatter_add)."""
    if is_cupy_array(target):
        _cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)


def erf(a):
    """The error function of an array, element-wise (for the exact GELU): SciPy's when it is installed,
    else ``math.erf`` per element on the CPU; ``cupyx.scipy.special.erf`` on a GPU."""
    if is_cupy_array(a):
        return _cupyx.scipy.special.erf(a)
    try:
        from scipy.special import erf as _erf
    except ImportError:
        import math
        _erf = np.frompyfunc(math.erf, 1, 1)
    return np.asarray(_erf(a), dtype=a.dtype)


def _load_kernels_package():
    """``minigrad.kernels``: installed inside the package, or, in a source checkout, the kernels/ folder
    beside minigrad/ (preferred there, so that a checkout never picks up another install's kernels)."""
    if "minigrad.kernels" in sys.modules:
        return sys.modules["minigrad.kernels"]
    package = os.path.dirname(os.path.abspath(__file__))
    sibling = os.path.join(os.path.dirname(package), "kernels")
    if os.path.isdir(os.path.join(package, "kernels")) or not os.path.isfile(os.path.join(sibling, "__init__.py")):
        return importlib.import_module("minigrad.kernels")
    spec = importlib.util.spec_from_file_location(
        "minigrad.kernels", os.path.join(sibling, "__init__.py"), submodule_search_locations=[sibling])
    module = importlib.util.module_from_spec(spec)
    sys.modules["minigrad.kernels"] = module
    spec.loader.exec_module(module)
    return module


_kernel_modules = {}
_KERNEL_CHOICES = ("cpu", "reference")


def kernels(a):
    """The kernel module for ``a``'s device: ``minigrad.kernels.gpu`` for a CuPy array; for a NumPy array
    ``minigrad.kernels.cpu`` (Numba), or ``minigrad.kernels.reference`` (plain NumPy, the oracle) when the
    environment sets ``MINIGRAD_KERNELS=reference``. All three share one contract (see kernels/)."""
    if is_cupy_array(a):
        name = "gpu"
        if is_simulated():          # the simulated device computes with the CPU kernels
            if "sim" not in _kernel_modules:
                _kernel_modules["sim"] = _cupy.Kernels(kernels(np.empty(0)))
            return _kernel_modules["sim"]
    else:
        name = os.environ.get("MINIGRAD_KERNELS", "cpu") or "cpu"
        if name not in _KERNEL_CHOICES:
            raise ValueError(f"MINIGRAD_KERNELS must be one of {', '.join(_KERNEL_CHOICES)} (for NumPy arrays), "
                             f"got {name!r}")
    if name not in _kernel_modules:
        _load_kernels_package()
        _kernel_modules[name] = importlib.import_module("minigrad.kernels." + name)
    return _kernel_modules[name]


# the ops import the kernels' Geometry type (minigrad.kernels.geometry): map the package now
_load_kernels_package()
