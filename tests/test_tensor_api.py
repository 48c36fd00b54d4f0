"""minigrad/tensor.py: the PyTorch conveniences (Size, new_*, register_hook, inference_mode, non_blocking)."""
import numpy as np
import pytest

import minigrad
from helpers import requires_torch, torch


def test_size_is_a_tuple_with_numel():
    x = minigrad.zeros(2, 3, 4)
    s = x.size()
    assert isinstance(s, minigrad.Size) and isinstance(s, tuple) and s == (2, 3, 4)
    assert s.numel() == 24 and minigrad.Size(()).numel() == 1 and x.size(1) == 3 and s[1:] == (3, 4)
    assert minigrad.zeros(s).shape == (2, 3, 4)


@requires_torch
def test_new_factories_match_torch():
    for dt, tdt in ((minigrad.float64, torch.float64), (minigrad.int64, torch.int64)):
        x, t = minigrad.zeros(2, dtype=dt), torch.zeros(2, dtype=tdt)
        for name, args in (("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_full", ((2, 2), 7)),
                           ("new_empty", (4,))):
            got, want = getattr(x, name)(*args), getattr(t, name)(*args)
            assert tuple(got.shape) == tuple(want.shape) and str(got.dtype) == str(want.dtype).split(".")[1]
            if name != "new_empty":
                np.testing.assert_array_equal(got.numpy(), want.numpy())
    y = minigrad.zeros(2).new_zeros(3, dtype=minigrad.int32)
    assert y.dtype == minigrad.int32
    z = minigrad.zeros(2).new_ones(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert minigrad.zeros(2, dtype=minigrad.float64).new_tensor([1, 2]).dtype == minigrad.float64


@requires_torch
def test_register_hook_changes_gradients_like_torch():
    a = np.random.default_rng(0).standard_normal(4)
    seen = []
    x = minigrad.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    h = x * 2
    th = tx * 2
    handle = h.register_hook(lambda g: g * 3)
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g + 1)
    th.register_hook(lambda g: g * 3)
    tx.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(seen[0], 3 * 2 * h.detach().numpy())    # hooks run in order
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.ones(4))          # the leaf hook stays
    g, = minigrad.autograd.grad((x * 1).sum(), x)
    np.testing.assert_allclose(g.numpy(), 2 * np.ones(4))                # autograd.grad sees hooks too
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.zeros(2).register_hook(print)


def test_inference_mode_records_no_graph():
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.inference_mode():
        assert not (x * 2).requires_grad
        with minigrad.inference_mode(False):
            assert (x * 2).requires_grad

    @minigrad.inference_mode()
    def f(t):
        return t * 2
    assert not f(x).requires_grad and minigrad.is_grad_enabled()


def test_to_accepts_non_blocking():
    x = minigrad.ones(2)
    assert x.to("cpu", non_blocking=True).device == "cpu"
    assert x.to(minigrad.float64, non_blocking=True).dtype == minigrad.float64
