"""Anomaly detection (``torch.autograd.detect_anomaly``): the first op whose output, or whose gradient in
backward, holds NaN or infinity raises a RuntimeError naming the op, its input shapes and the line of the
user's code that created it.

While the mode is on, every op checks its output with ``isfinite`` and the stack is recorded for each
recorded graph node; when it is off the engine tests one class attribute per op and records nothing.
Differences from PyTorch: minigrad checks the forward pass too and infinities as well as NaN (PyTorch
checks backward only, for NaN), ops run inside a backward formula are blamed on that formula, and the
error itself carries the creation stack (PyTorch prints it as a warning). Leaf ``.grad`` is untouched when
backward raises.
"""
from __future__ import annotations

import contextlib
import os
import traceback

from .. import backend
from .engine import _Hooks

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_FRAMES = 6   # innermost user frames kept


def is_anomaly_enabled() -> bool:
    return _Hooks.anomaly is not None


class set_detect_anomaly(contextlib.ContextDecorator):
    """Context manager / decorator that turns anomaly detection on (``mode=True``) or off."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.mode, self.check_nan = bool(mode), bool(check_nan)

    def __enter__(self):
        self.prev = _Hooks.anomaly
        _Hooks.anomaly = _Checks(self.check_nan) if self.mode else None
        return self

    def __exit__(self, *exc):
        _Hooks.anomaly = self.prev
        return False


class detect_anomaly(set_detect_anomaly):
    """``with minigrad.autograd.detect_anomaly():`` (or ``@detect_anomaly()``): in forward and backward,
    the first op producing a non-finite value raises RuntimeError naming it, its input shapes and where
    in the user's code it was created. ``check_nan=False`` records the stacks but checks nothing."""

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)


def _user_stack():
    """The caller's frames outside minigrad, innermost last, as ``File ..., line N, in f`` lines."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_PACKAGE)]
    return "".join(traceback.format_list(frames[-_FRAMES:])).rstrip()


def _bad(array):
    """'nan', 'inf', 'nan and inf' or None for a float or complex array."""
    if array is None or getattr(array.dtype, "kind", "") not in "fc":
        return None
    xp = backend.xp_of(array)
    if bool(xp.isfinite(array).all()):
        return None
    nan, inf = bool(xp.isnan(array).any()), bool(xp.isinf(array).any())
    return " and ".join(w for w, b in (("nan", nan), ("inf", inf)) if b)


def _shapes(meta):
    return ", ".join(f"{tuple(shape)} {getattr(dtype, 'name', dtype)}" for shape, dtype in meta) or "none"


class _Checks:
    def __init__(self, check_nan):
        self.check_nan = check_nan
        self.in_backward = 0     # ops run by a backward formula are blamed on that formula, not on themselves

    def forward(self, fn, inputs, y):
        """Called by Function.__call__ after forward: check the output; return the stack kept for backward."""
        stack = _user_stack()
        if self.check_nan and not self.in_backward:
            what = _bad(y)
            if what is not None:
                meta = [(t.shape, t.dtype) for t in inputs]
                already = [i for i, t in enumerate(inputs) if _bad(t.array) is not None]
                note = (f"; input {', '.join(map(str, already))} already held non-finite values"
                        if already else "; every input was finite")
                raise RuntimeError(f"detect_anomaly: {type(fn).__name__} produced {what} values in forward "
                                   f"(output shape {tuple(y.shape)}; inputs {_shapes(meta)}{note}). "
                                   f"It was called at:\n{stack}")
        return stack

    def backward(self, fn, gy):
        """Called by the engine in place of ``fn.backward(gy)``: run it, then check each input gradient."""
        self.in_backward += 1
        try:
            gxs = fn.backward(gy)
        finally:
            self.in_backward -= 1
        if not self.check_nan:
            return gxs
        for i, gx in enumerate(gxs if isinstance(gxs, tuple) else (gxs,)):
            what = None if gx is None else _bad(gx.array)
            if what is not None:
                note = (" (the gradient it received was already non-finite)" if _bad(gy.array) is not None
                        else "")
                stack = getattr(fn, "anomaly_stack", None) or ("(not recorded: the forward pass ran without "
                                                               "detect_anomaly)")
                raise RuntimeError(f"detect_anomaly: {fn.name()} returned {what} values in its gradient for "
                                   f"input {i}{note} (forward inputs {_shapes(fn.meta)}). The forward op was "
                                   f"created at:\n{stack}")
        return gxs
