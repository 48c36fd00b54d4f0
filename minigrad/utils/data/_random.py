"""Where the data pipeline's random numbers come from.

Every random choice in ``minigrad.utils.data`` and ``minigrad.transforms`` is drawn from a NumPy
``Generator``. ``generator=`` arguments accept:

- ``None``: the random stream of the current DataLoader batch if there is one (see ``batch_rng``),
  else minigrad's global generator (so ``minigrad.manual_seed`` makes runs reproducible);
- an ``int``: a fresh ``numpy.random.default_rng(seed)``;
- a ``numpy.random.Generator``: used as is;
- a ``minigrad.Generator``: the NumPy generator it wraps.
"""
import contextlib
import threading

import numpy as np

_local = threading.local()


def _global_rng():
    """minigrad's global generator as a NumPy Generator (a private one if the core has none)."""
    try:
        import minigrad
        gen = getattr(minigrad, "default_generator", None)
    except ImportError:  # pragma: no cover - the core is always there once merged
        gen = None
    if gen is not None:
        return numpy_rng(gen)
    global _FALLBACK
    try:
        return _FALLBACK
    except NameError:
        _FALLBACK = np.random.default_rng()
        return _FALLBACK


def numpy_rng(generator):
    """Turn ``None | int | numpy.random.Generator | minigrad.Generator`` into a NumPy Generator."""
    if generator is None:
        return _global_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    for attr in ("numpy_generator", "rng", "_rng", "generator"):
        inner = getattr(generator, attr, None)
        if isinstance(inner, np.random.Generator):
            return inner
    raise TypeError("generator must be None, an int seed, a numpy.random.Generator or a "
                    f"minigrad.Generator; got {type(generator).__name__}")


@contextlib.contextmanager
def batch_rng(rng):
    """Make ``rng`` the stream that transforms without their own generator draw from, in this thread."""
    prev = getattr(_local, "rng", None)
    _local.rng = rng
    try:
        yield rng
    finally:
        _local.rng = prev


def transform_rng(generator):
    """The stream a random transform draws from: its own generator, else the batch's, else the global."""
    if generator is not None:
        return generator
    rng = getattr(_local, "rng", None)
    return rng if rng is not None else _global_rng()
