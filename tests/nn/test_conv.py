"""minigrad/nn/conv.py: Conv2d (all padding modes, 'same'/'valid', groups, dilation) and ConvTranspose2d
(output_padding, output_size) against torch with copied weights; gradcheck; default initialisation."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn as nn
from nn_helpers import check_module, tnn, torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@given(cin=st.sampled_from([1, 2, 4]), cout=st.sampled_from([2, 4]), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.integers(0, 2), dilation=st.integers(1, 2), grouped=st.booleans(), bias=st.booleans(),
       hw=st.integers(4, 6), seed=st.integers(0, 999))
def test_conv2d_matches_torch(cin, cout, k, stride, padding, dilation, grouped, bias, hw, seed):
    groups = 2 if grouped and cin % 2 == 0 and cout % 2 == 0 else 1
    if (hw + 2 * padding - dilation * (k - 1) - 1) < 0:
        return
    x = np.random.default_rng(seed).standard_normal((2, cin, hw, hw))
    args = (cin, cout, k)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    check_module(nn.Conv2d(*args, **kw), tnn.Conv2d(*args, **kw), x, check_grad=False)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same", "valid"])
def test_conv2d_padding_modes(padding_mode, padding):
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6))
    kw = dict(padding=padding, padding_mode=padding_mode)
    check_module(nn.Conv2d(2, 3, 3, **kw), tnn.Conv2d(2, 3, 3, **kw), x)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize("k,dilation", [(2, 1), (4, 1), (2, 3)])
def test_conv2d_same_with_even_kernel(k, dilation):
    """An even receptive field needs asymmetric padding (PyTorch pads more on the right/bottom)."""
    x = np.random.default_rng(2).standard_normal((1, 2, 7, 6))
    for mode in ("zeros", "reflect"):
        kw = dict(padding="same", dilation=dilation, padding_mode=mode)
        y = check_module(nn.Conv2d(2, 2, k, **kw), tnn.Conv2d(2, 2, k, **kw), x, check_grad=False)
        assert y.shape == (1, 2, 7, 6)


def test_conv2d_argument_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 2, 2), (3, 1, 2, 1, 1)])
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, dilation, groups):
    x = np.random.default_rng(3).standard_normal((2, 4, 3, 4))
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    check_module(nn.ConvTranspose2d(4, 2, 3, **kw), tnn.ConvTranspose2d(4, 2, 3, **kw), x)


@requires_torch
def test_conv_transpose2d_output_size():
    m, tm = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    m.double().load_state_dict(tm.double().state_dict())
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4))
    for size in [(7, 7), (8, 8), (7, 8)]:
        y = m(minigrad.tensor(x), output_size=size)
        ty = tm(torch.tensor(x), output_size=size)
        assert y.shape == tuple(ty.shape) == (1, 3) + size
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        m(minigrad.tensor(x), output_size=(9, 9))


def test_conv_default_init_bounds():
    minigrad.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3, groups=2)
    fan_in = 8 * 9
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.shape == (32, 8, 3, 3)
    assert 0.97 / math.sqrt(fan_in) < np.abs(w).max() <= 1 / math.sqrt(fan_in)
    assert np.abs(b).max() <= 1 / math.sqrt(fan_in)
    tconv = nn.ConvTranspose2d(16, 32, 3)              # weight (in, out/groups, k, k): fan_in = 32 * 9
    assert tconv.weight.shape == (16, 32, 3, 3)
    assert np.abs(tconv.weight.detach().numpy()).max() <= 1 / math.sqrt(32 * 9)
    assert np.abs(tconv.bias.detach().numpy()).max() <= 1 / math.sqrt(32 * 9)
