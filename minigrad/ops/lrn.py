"""local_response_norm (AlexNet): x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta.

A composite of pad, avg_pool2d and elementwise ops, written like PyTorch's, so it needs no backward.
"""
from __future__ import annotations

from .pad import pad
from .pool import avg_pool2d


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """(N, C, ...) -> same shape: x / (k + alpha/size * sum over channels c-size//2 .. c+(size-1)//2 of
    x^2)^beta, the sum zero-padded at the channel ends."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input with 3 or more dimensions (N, C, ...), "
                         f"got shape {tuple(input.shape)}")
    if int(size) < 1:
        raise ValueError(f"local_response_norm: size must be positive, got {size}")
    if input.numel() == 0:
        return input
    N, C = input.shape[:2]
    div = (input * input).reshape(N, 1, C, -1)
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(div, (size, 1), stride=1).reshape(*input.shape)
    return input / (div * alpha + k) ** beta
