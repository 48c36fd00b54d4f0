"""minigrad/nn/init.py: gains, fans, the bounds and spreads of each initialiser, in-place under no_grad,
reproducible with a generator."""
import math

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.nn import init
from nn_helpers import torch


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    if torch is not None:
        for nl in ("linear", "tanh", "relu", "leaky_relu", "selu"):
            assert init.calculate_gain(nl) == pytest.approx(torch.nn.init.calculate_gain(nl))


def test_fans():
    assert init._calculate_fan_in_and_fan_out(minigrad.empty(3, 5)) == (5, 3)
    assert init._calculate_fan_in_and_fan_out(minigrad.empty(8, 4, 3, 2)) == (24, 48)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(minigrad.empty(5))


def _w(*shape):
    return nn.Parameter(minigrad.empty(*shape))


def test_uniform_initialisers_bounds():
    minigrad.manual_seed(0)
    w = _w(256, 128)
    cases = [(lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(128)),
             (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(6 / 128)),
             (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(6 / 256)),
             (lambda t: init.xavier_uniform_(t), math.sqrt(6 / 384)),
             (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(6 / 384)),
             (lambda t: init.uniform_(t, -0.3, 0.3), 0.3)]
    for fill, bound in cases:
        assert fill(w) is w
        a = w.detach().numpy()
        assert 0.98 * bound < np.abs(a).max() <= bound
        np.testing.assert_allclose(a.std(), bound / math.sqrt(3), rtol=0.03)
        assert w.requires_grad and w.grad is None


def test_normal_initialisers_spread():
    minigrad.manual_seed(1)
    w = _w(256, 128)
    for fill, std in [(lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 128)),
                      (lambda t: init.kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / (1 + 0.01 ** 2)) / 16),
                      (lambda t: init.xavier_normal_(t), math.sqrt(2 / 384)),
                      (lambda t: init.normal_(t, 0.5, 0.2), 0.2)]:
        fill(w)
        np.testing.assert_allclose(w.detach().numpy().std(), std, rtol=0.03)
    init.normal_(w, 0.5, 0.2)
    np.testing.assert_allclose(w.detach().numpy().mean(), 0.5, atol=0.01)
    init.trunc_normal_(w, 0.0, 1.0, -0.5, 0.5)
    assert np.abs(w.detach().numpy()).max() <= 0.5


def test_constant_ones_zeros_eye():
    w = _w(3, 4)
    np.testing.assert_array_equal(init.constant_(w, 0.25).detach().numpy(), np.full((3, 4), 0.25))
    np.testing.assert_array_equal(init.ones_(w).detach().numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(w).detach().numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.eye_(w).detach().numpy(), np.eye(3, 4))


def test_generator_reproducible():
    a, b = _w(4, 5), _w(4, 5)
    init.kaiming_uniform_(a, generator=minigrad.Generator().manual_seed(7))
    init.kaiming_uniform_(b, generator=minigrad.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    init.xavier_normal_(b, generator=minigrad.Generator().manual_seed(8))
    assert not np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_float64_stays_float64():
    w = nn.Parameter(minigrad.empty(3, 3, dtype=minigrad.float64))
    init.kaiming_normal_(w)
    assert w.dtype == minigrad.float64
