"""Random numbers: one default generator per device, seeded by ``manual_seed``; a ``Generator`` object
for code that needs its own reproducible stream (data shuffling, augmentation)."""
from __future__ import annotations

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


class Generator:
    """A seeded random stream on one device (``minigrad.Generator(device='cpu').manual_seed(0)``)."""

    def __init__(self, device="cpu"):
        self.device = backend.device(device)
        self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.rng = self.device.xp.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state (CPU only), for checkpoints."""
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


_default = {}


def default_generator(device=backend.CPU) -> Generator:
    device = backend.Device(device)
    if device not in _default:
        _default[device] = Generator(device).manual_seed(_initial_seed)
    return _default[device]


_initial_seed = 0


def manual_seed(seed):
    """Seed every device's default generator (and NumPy's legacy global one, for third-party code)."""
    global _initial_seed
    _initial_seed = int(seed)
    for g in _default.values():
        g.manual_seed(seed)
    np.random.seed(int(seed) % 2 ** 32)
    return default_generator()


seed = manual_seed


def _rng(generator, device):
    g = generator if generator is not None else default_generator(device)
    if g.device != device:
        raise RuntimeError(f"the generator is on {g.device}, but the tensor is made on {device}")
    return g.rng


def _make(fill, size, dtype, device, requires_grad, generator, default_dtype=None):
    device = backend.device(device)
    dtype = np.dtype(dtype) if dtype is not None else (default_dtype or dtypes.get_default_dtype())
    arr = fill(_rng(generator, device), _size(size))
    return Tensor._wrap(arr.astype(dtype, copy=False), requires_grad)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def rand(*size, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Uniform on [0, 1)."""
    return _make(lambda r, s: r.random(s, dtype=np.float64 if dtype == dtypes.float64 else np.float32),
                 size, dtype, device, requires_grad, generator)


def randn(*size, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Standard normal."""
    return _make(lambda r, s: r.standard_normal(s, dtype=np.float64 if dtype == dtypes.float64 else np.float32),
                 size, dtype, device, requires_grad, generator)


def randint(low, high=None, size=(), *, generator=None, dtype=None, device="cpu", requires_grad=False):
    """Integers in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None:
        low, high = 0, low
    return _make(lambda r, s: r.integers(low, high, size=s), (tuple(size),), dtype, device, requires_grad,
                 generator, dtypes.int64)


def randperm(n, *, generator=None, dtype=None, device="cpu"):
    """A random permutation of 0..n-1."""
    return _make(lambda r, s: r.permutation(n), ((),), dtype, device, False, generator, dtypes.int64)


def rand_like(x, *, dtype=None, generator=None):
    return rand(*x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)


def randn_like(x, *, dtype=None, generator=None):
    return randn(*x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)


def randint_like(x, low, high=None, *, dtype=None, generator=None):
    return randint(low, high, x.shape, dtype=dtype or x.dtype, device=x.device, generator=generator)
