"""minigrad/nn/dropout.py: Dropout / Dropout2d drop in training only, with inverted scaling."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn


def test_dropout_train_and_eval():
    minigrad.manual_seed(0)
    m = nn.Dropout(0.25)
    x = minigrad.ones(200, 100)
    y = m(x).numpy()
    assert np.all((y == 0) | np.isclose(y, 1 / 0.75))
    assert abs((y == 0).mean() - 0.25) < 0.02
    m.eval()
    assert m(x) is x or np.array_equal(m(x).numpy(), x.numpy())
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"


def test_dropout_gradient_uses_the_same_mask():
    minigrad.manual_seed(1)
    x = minigrad.randn(50, 20, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.backward(minigrad.ones_like(y))
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept * 2.0)


def test_dropout2d_zeroes_whole_channels():
    minigrad.manual_seed(2)
    y = nn.Dropout2d(0.5)(minigrad.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    assert np.array_equal(nn.Dropout2d().eval()(minigrad.ones(2, 2, 2, 2)).numpy(), np.ones((2, 2, 2, 2)))


def test_dropout_probability_checked():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
