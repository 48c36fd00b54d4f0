"""Random numbers: one default generator per device, seeded by ``manual_seed``; a ``Generator`` object
for code that needs its own reproducible stream (data shuffling, augmentation).

Leaf code: the draws here are arrays. The tensor factories built on them (``rand``, ``randn``, ``randint``,
``randperm`` and their ``_like`` forms) are in ``creation.py`` with the other factories."""
from __future__ import annotations

import numpy as np

from . import backend, dtypes


class Generator:
    """A seeded random stream on one device (``minigrad.Generator(device='cpu').manual_seed(0)``)."""

    def __init__(self, device="cpu"):
        self.device = backend.device(device)
        self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63))

    def manual_seed(self, seed):
        self._seed = int(seed)
        with backend.on(self.device):
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


def rng(generator, device):
    """The NumPy/CuPy random generator to draw from: ``generator``'s, or ``device``'s default one."""
    g = generator if generator is not None else default_generator(device)
    if g.device != device:
        raise RuntimeError(f"the generator is on {g.device}, but the tensor is made on {device}")
    return g.rng


def _draw_dtype(dtype):
    """Draws are made in float64 for float64 tensors and in float32 otherwise, then cast."""
    return np.float64 if dtype == dtypes.float64 else np.float32


def uniform(shape, dtype, device, generator=None):
    """An array of ``shape`` drawn from U[0, 1) on ``device``, as ``dtype``."""
    with backend.on(device):
        return rng(generator, device).random(shape, dtype=_draw_dtype(dtype)).astype(dtype, copy=False)


def normal(shape, dtype, device, generator=None):
    """An array of ``shape`` drawn from N(0, 1) on ``device``, as ``dtype``."""
    with backend.on(device):
        return rng(generator, device).standard_normal(shape, dtype=_draw_dtype(dtype)).astype(dtype, copy=False)
