"""minigrad/nn/activation.py: every activation module against torch's, gradchecked; inplace= accepted."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from helpers import away_from_zero
from nn_helpers import check_module, torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

MODULES = [("ReLU", (), {}), ("LeakyReLU", (0.2,), {}), ("ReLU6", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
           ("SiLU", (), {}), ("GELU", (), {}), ("GELU", (), dict(approximate="tanh")), ("Softmax", (1,), {}),
           ("Softmax", (), dict(dim=-1)), ("LogSoftmax", (1,), {}), ("Softmin", (0,), {}), ("ELU", (0.5,), {}),
           ("Hardtanh", (-0.5, 0.5), {}), ("Softplus", (2.0, 3.0), {}), ("Hardsigmoid", (), {}),
           ("Hardswish", (), {}), ("LogSigmoid", (), {}), ("Mish", (), {}), ("Softsign", (), {}),
           ("Tanhshrink", (), {})]


@requires_torch
@pytest.mark.parametrize("name,args,kw", MODULES, ids=[f"{m[0]}{i}" for i, m in enumerate(MODULES)])
def test_activation_module_matches_torch(name, args, kw):
    x = away_from_zero(np.random.default_rng(0), (3, 4), 0.1, 2.4)
    for kink in (0.5, -0.5, 1.5, -1.5):           # clipping points of Hardtanh(-.5, .5), Softplus(2, 3)
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    m, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    check_module(m, tm, x)
    assert repr(m) == repr(tm)


def test_softmax_without_dim_uses_pytorch_legacy_choice():
    x = minigrad.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(y.sum(1).numpy(), np.ones(2), rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ReLU6", "SiLU", "ELU", "Hardtanh", "Hardswish",
                                  "Hardsigmoid", "Mish"])
def test_inplace_is_accepted_and_shown(name):
    """torch's in-place variants cannot run on a leaf that requires grad; ours compute out of place."""
    m, tm = getattr(nn, name)(inplace=True), getattr(torch.nn, name)(inplace=True)
    assert repr(m) == repr(tm)
    x = minigrad.randn(3, requires_grad=True)
    m(x).sum().backward()
    assert x.grad is not None
