"""minigrad/nn/pooling.py: the pooling layers against torch (overlapping windows included), gradcheck."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from nn_helpers import check_module, tnn, torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _distinct(shape, seed=0):
    """Values without ties (a tie makes max-pool's gradient a matter of convention)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) / np.prod(shape) * 4 - 2


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2),
                                dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, dilation=2),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool2d(kw):
    x = _distinct((2, 3, 7, 7))
    check_module(nn.MaxPool2d(**kw), tnn.MaxPool2d(**kw), x)


@requires_torch
def test_max_pool2d_return_indices():
    x = _distinct((1, 2, 5, 5))
    y, idx = nn.MaxPool2d(3, 2, return_indices=True)(minigrad.tensor(x))
    ty, tidx = torch.nn.MaxPool2d(3, 2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_allclose(y.numpy(), ty.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, divisor_override=3),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_avg_pool2d(kw):
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 7))
    check_module(nn.AvgPool2d(**kw), tnn.AvgPool2d(**kw), x)


@pytest.mark.parametrize("size", [1, 2, (3, 2), (None, 2), (5, 6)])
def test_adaptive_pools(size):
    x = _distinct((2, 2, 5, 6), 2)
    check_module(nn.AdaptiveAvgPool2d(size), tnn.AdaptiveAvgPool2d(size), x)
    check_module(nn.AdaptiveMaxPool2d(size), tnn.AdaptiveMaxPool2d(size), x)


def test_stride_defaults_to_kernel_size():
    assert nn.MaxPool2d(3).stride == 3 and nn.AvgPool2d(2).stride == 2
    assert nn.MaxPool2d(3)(minigrad.randn(1, 1, 9, 9)).shape == (1, 1, 3, 3)
