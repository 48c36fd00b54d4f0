"""minigrad/ops/activation.py: each activation against torch.nn.functional, gradchecked (first and second
order) with a random upstream gradient; inputs stay away from the kinks."""
import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from helpers import away_from_zero, check_op, torch

TF = torch.nn.functional if torch is not None else None

CASES = [
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("leaky_relu_default", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    ("relu6", lambda x: F.relu6(x * 3), lambda x: TF.relu6(x * 3)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: TF.hardtanh(x, -0.5, 1.5)),
    ("elu", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    ("silu", F.silu, lambda x: TF.silu(x)),
    ("gelu", F.gelu, lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("softplus", F.softplus, lambda x: TF.softplus(x)),
    ("softplus_beta", lambda x: F.softplus(x * 8, beta=2.0, threshold=5.0),
     lambda x: TF.softplus(x * 8, beta=2.0, threshold=5.0)),
    ("logsigmoid", F.logsigmoid, lambda x: TF.logsigmoid(x)),
    ("hardsigmoid", lambda x: F.hardsigmoid(x * 2), lambda x: TF.hardsigmoid(x * 2)),
    ("hardswish", lambda x: F.hardswish(x * 2), lambda x: TF.hardswish(x * 2)),
    ("mish", F.mish, lambda x: TF.mish(x)),
    ("softsign", F.softsign, lambda x: TF.softsign(x)),
    ("tanhshrink", F.tanhshrink, lambda x: TF.tanhshrink(x)),
    ("softmin", lambda x: F.softmin(x, 1), lambda x: TF.softmin(x, 1)),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0)),
]


KINKS = {"relu6": [2], "hardtanh": [-0.5, 1.5], "hardsigmoid": [-1.5, 1.5], "hardswish": [-1.5, 1.5],
         "softplus_beta": [5 / 16], "threshold": [0.5]}    # clipping points in x, besides 0


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_torch(name, fn, ref):
    check_op(fn, lambda rng: [away_from_zero(rng, (3, 5), 0.05, 3.0)], ref, kinks=[0.0] + KINKS.get(name, []),
             kink_margin=0.05)


@pytest.mark.parametrize("name,x", [("relu6", [0.0, 6.0, 3.0, -1.0, 7.0]), ("hardtanh", [-1.0, 1.0, 0.0, 2.0]),
                                    ("hardsigmoid", [-3.0, 3.0, 0.0, 4.0]), ("hardswish", [-3.0, 3.0, 0.0, -4.0])])
def test_gradient_at_the_clipping_points_matches_torch(name, x):
    # PyTorch's hardtanh family passes the gradient only strictly inside the interval (relu6'(0) = 0, like
    # relu'(0)); clamp passes it at the ends too, so these are not plain clamps
    check_op(getattr(F, name), [np.array(x, np.float32)], lambda t: getattr(TF, name)(t), grad_inputs=[0],
             gradcheck=False, rtol=1e-6)


@pytest.mark.parametrize("name", ["gelu", "silu", "softplus", "logsigmoid", "elu", "mish"])
def test_large_magnitudes_are_finite(name):
    x = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=np.float32)
    (y,) = check_op(getattr(F, name), [x], lambda t: getattr(TF, name)(t), grad_inputs=[0], gradcheck=False,
                    rtol=1e-5, atol=1e-6)
    t = minigrad.tensor(x, requires_grad=True)
    getattr(F, name)(t).backward(minigrad.ones(7))
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(t.grad.numpy()).all()


def test_float32_stays_float32():
    x = minigrad.randn(4, 3)
    for f in (F.gelu, F.silu, F.elu, F.softplus, F.leaky_relu, F.hardswish):
        assert f(x).dtype == minigrad.float32


def test_bad_gelu_approximation():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(minigrad.randn(2), approximate="fast")
