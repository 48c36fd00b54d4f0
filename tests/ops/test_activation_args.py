"""Activation arguments with PyTorch's meaning (``inplace=``, the implicit ``dim`` of the softmax family),
and softshrink, the README's "Adding an op" example."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from helpers import check_op, requires_torch, torch

INPLACE = [("relu", (), nn.ReLU), ("relu6", (), nn.ReLU6), ("leaky_relu", (0.1,), nn.LeakyReLU),
           ("elu", (0.5,), nn.ELU), ("silu", (), nn.SiLU), ("hardsigmoid", (), nn.Hardsigmoid),
           ("hardswish", (), nn.Hardswish), ("mish", (), nn.Mish), ("hardtanh", (-0.5, 0.5), nn.Hardtanh),
           ("threshold", (0.2, -1.0), None)]


@pytest.mark.parametrize("name, args, module", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_writes_into_the_input_when_autograd_does_not_record(name, args, module):
    fn = getattr(F, name)
    x = minigrad.tensor(np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4))
    expected = fn(x.clone(), *args).numpy()
    buffer = x.array
    y = fn(x, *args, inplace=True)
    assert y is x and x.array is buffer
    np.testing.assert_array_equal(x.numpy(), expected)
    if module is not None:             # the modules pass their inplace= on
        z = minigrad.tensor(np.linspace(-3, 3, 12, dtype=np.float32))
        with minigrad.no_grad():
            assert module(*args, inplace=True)(z) is z
        np.testing.assert_allclose(z.numpy(), fn(minigrad.tensor(np.linspace(-3, 3, 12, dtype=np.float32)),
                                                 *args).numpy())


def test_inplace_inside_a_graph_returns_a_new_tensor_and_keeps_the_gradient():
    """minigrad records no in-place ops: where autograd records the call, the input is left as it was."""
    x = minigrad.tensor([-1.0, 2.0], requires_grad=True)
    y = F.relu(x, inplace=True)
    assert y is not x and x.tolist() == [-1.0, 2.0]
    y.backward(minigrad.tensor([3.0, 5.0]))
    assert x.grad.tolist() == [0.0, 5.0]
    h = x * 1
    before = h._version[0]
    out = nn.ReLU(inplace=True)(h)
    assert out is not h and h._version[0] == before


@requires_torch
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_without_dim_chooses_like_torch_and_warns(name, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
        y = getattr(F, name)(minigrad.tensor(x))
    with pytest.warns(UserWarning):
        expected = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)


def test_complex_tensors_cannot_require_grad_whichever_way_it_is_asked():
    c = np.array([1 + 2j])
    for make in (lambda: minigrad.tensor(c, requires_grad=True), lambda: minigrad.tensor(c).requires_grad_(),
                 lambda: setattr(minigrad.tensor(c), "requires_grad", True)):
        with pytest.raises(RuntimeError, match="complex128.*complex autograd is not supported"):
            make()


def test_copy_of_a_shape_that_does_not_broadcast_names_both_and_changes_nothing():
    t = minigrad.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"source of shape \(4,\) cannot be broadcast to the destination's "
                                           r"shape \(2, 3\)"):
        t.copy_(minigrad.ones(4))
    assert t.tolist() == [[0.0] * 3] * 2 and t._version[0] == 0


@pytest.mark.parametrize("lambd", [0.0, 0.3, 1.0])
def test_softshrink_matches_torch_and_gradchecks(lambd):
    """The README's "Adding an op" test: inputs redrawn off the kinks at +-lambd."""
    ref = (lambda t: torch.nn.functional.softshrink(t, lambd)) if torch is not None else None
    check_op(lambda t: F.softshrink(t, lambd), lambda rng: [rng.uniform(-2, 2, (3, 5))], ref,
             kinks=[-lambd, lambd], kink_margin=0.05)
    assert repr(nn.Softshrink(lambd)) == f"Softshrink({lambd})"
    with pytest.raises(ValueError, match="lambd must be non-negative, got -1"):
        F.softshrink(minigrad.ones(3), -1)
