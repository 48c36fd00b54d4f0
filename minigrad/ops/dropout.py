"""dropout and dropout2d: multiply by a random keep-mask scaled by 1/(1-p) (inverted dropout).

Composites: the mask comes from the device's default generator (``minigrad.manual_seed`` makes it
reproducible) and the product is the core's ``mul``, so no backward of their own.
"""
from __future__ import annotations

from ..random import default_generator
from ..tensor import Tensor


def _dropout(x, p, training, inplace, mask_shape, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    rng = default_generator(x.device).rng
    if p == 1.0:
        mask = x._xp.zeros(mask_shape, dtype=x.dtype)
    else:
        mask = (rng.random(mask_shape) >= p).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    mask = Tensor._wrap(mask, False)
    if inplace and not x.requires_grad:
        return x.mul_(mask)
    return x * mask


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training).

    ``inplace`` writes into ``input`` when no gradient flows through it; otherwise the result is new."""
    return _dropout(input, p, training, inplace, input.shape, "dropout")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: (N, C, H, W) (or (N, C, L)) times a (N, C, 1, 1) keep-mask scaled by 1/(1-p)."""
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _dropout(input, p, training, inplace, shape, "dropout2d")
