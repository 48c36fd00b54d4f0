"""Checks of the sizes layers are built with: a float, bool or string where a size goes is refused when the
layer is made, naming the layer, the argument and what came (PyTorch fails later, deep in ``empty``, or
accepts a float kernel size). A bool is refused too (PyTorch takes ``True`` as 1)."""
from __future__ import annotations

import numbers


def size(layer, name, value, minimum=0):
    """``value`` as an int >= ``minimum``; TypeError / ValueError naming ``layer`` and ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be an int >= {minimum}, got {value}")
    return int(value)


def sizes(layer, name, value, n=2, minimum=0):
    """An int (repeated ``n`` times) or ``n`` ints, each checked as :func:`size`; returned as a tuple."""
    if not isinstance(value, (tuple, list)):
        return (size(layer, name, value, minimum),) * n
    if len(value) != n:
        raise ValueError(f"{layer}: {name} must be an int or {n} ints, got {value!r}")
    return tuple(size(layer, f"each of {name}={tuple(value)!r}", v, minimum) for v in value)
