"""minigrad/nn/linear.py: Linear against torch (forward, input and parameter gradients, gradcheck),
default initialisation bounds, Identity."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn as nn
from nn_helpers import check_module, tnn


@given(n=st.integers(1, 3), fin=st.integers(1, 5), fout=st.integers(1, 4), bias=st.booleans(),
       lead=st.sampled_from([(), (2,)]), seed=st.integers(0, 999))
def test_linear_matches_torch(n, fin, fout, bias, lead, seed):
    x = np.random.default_rng(seed).standard_normal(lead + (n, fin))
    check_module(nn.Linear(fin, fout, bias=bias), tnn.Linear(fin, fout, bias=bias), x)


def test_linear_default_init_bounds():
    minigrad.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)    # uniform, not normal
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad


def test_linear_no_bias_and_dtype():
    lin = nn.Linear(3, 2, bias=False, dtype=minigrad.float64)
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]
    assert lin.weight.dtype == minigrad.float64
    assert repr(lin) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_shape_error():
    with pytest.raises(RuntimeError, match="input has 4 features"):
        nn.Linear(3, 2)(minigrad.randn(5, 4))


def test_identity():
    x = minigrad.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"
