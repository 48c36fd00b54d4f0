"""Gradient clipping: rescale all gradients to a maximum total norm, or clamp each value."""
from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...autograd import no_grad
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(xp, a, p):
    a = xp.abs(a).ravel()
    if p == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if p == -math.inf:
        return a.min() if a.size else xp.asarray(math.inf, a.dtype)
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return xp.sqrt(xp.dot(a, a)) if a.dtype.kind == "f" else xp.sqrt((a * a).sum())
    return (a ** p).sum() ** (1.0 / p)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their joint ``norm_type``-norm is at most ``max_norm``; returns the
    norm before clipping (a 0-d Tensor). grad *= min(1, max_norm / (total_norm + 1e-6)), as in PyTorch.

    Each ``p.grad`` keeps its identity but gets a new array (minigrad gradient arrays may be shared)."""
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if len(grads) == 0:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    first = grads[0].array
    xp = backend.xp_of(first)
    with no_grad():
        norms = [backend.to_device(_vector_norm(backend.xp_of(g.array), g.array, norm_type), grads[0].device)
                 for g in grads]
        total = _vector_norm(xp, xp.stack([xp.asarray(n, dtype=first.dtype) for n in norms]), norm_type)
        if error_if_nonfinite and not bool(xp.isfinite(total)):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                               f"so it cannot be clipped. To disable this error and scale the gradients by the "
                               f"non-finite norm anyway, set `error_if_nonfinite=False`")
        coef = xp.minimum(xp.asarray(max_norm, dtype=total.dtype) / (total + xp.asarray(1e-6, total.dtype)), 1.0)
        for g in grads:
            c = backend.to_device(coef, g.device)
            with np.errstate(invalid="ignore"):   # inf * 0 -> nan, as in PyTorch
                g.array = g.array * c.astype(g.dtype)
            g._version[0] += 1
    return Tensor._wrap(xp.asarray(total))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient value to [-clip_value, clip_value] (each ``p.grad`` gets a new array)."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.array = backend.xp_of(g.array).clip(g.array, -clip_value, clip_value)
            g._version[0] += 1
