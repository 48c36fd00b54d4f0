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
    """minigrad's global CPU generator (seeded by ``minigrad.manual_seed``) as a NumPy Generator."""
    from minigrad.random import default_generator
    return default_generator().rng


def numpy_rng(generator):
    """Turn ``None | int | numpy.random.Generator | minigrad.Generator`` into a NumPy Generator."""
    if generator is None:
        return _global_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    inner = getattr(generator, "rng", None)  # minigrad.Generator
    if isinstance(inner, np.random.Generator):
        return inner
    if inner is not None:
        raise TypeError(f"the data pipeline runs on the CPU: pass a CPU generator, got one on {generator.device}")
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


def stored(generator):
    """What to keep from a ``generator=`` argument: an int seed becomes its NumPy Generator once (so
    successive calls continue one stream); anything else is kept and resolved at each use (a
    minigrad.Generator re-seeded with ``manual_seed`` is then followed)."""
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    if generator is not None:
        numpy_rng(generator)  # type check now, not at first use
    return generator


def transform_rng(generator):
    """The stream a random transform draws from: its own generator, else the batch's, else the global."""
    if generator is not None:
        return numpy_rng(generator)
    rng = getattr(_local, "rng", None)
    return rng if rng is not None else _global_rng()
