"""Module parity with PyTorch: same weights (moved by state_dict), same input, a random upstream gradient;
compare the output, the input gradients and every parameter gradient by name; then gradcheck in float64;
and, when CUDA is present (a GPU, or the simulated device in CI), the same module moved there must give
the CPU's output, gradients and buffers."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minigrad
from helpers import DEVICES
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:
    torch = None


class _NoTorchNN:
    """torch.nn where torch is missing: every layer is None, so check_module runs its torch-free legs."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


tnn = torch.nn if torch is not None else _NoTorchNN()   # tests build the torch twin with tnn.Conv2d(...)


def check_module(m, tm, *inputs, train=True, atol=1e-9, rtol=1e-7, check_grad=True, seed=0, load=True):
    """``m`` (minigrad) and ``tm`` (torch) of the same architecture. Returns the minigrad output. Without
    torch (``tm`` None) the gradcheck and the GPU leg still run; a test left with neither is skipped."""
    if tm is None and torch is None and not check_grad and len(DEVICES) == 1:
        pytest.skip("torch is not installed (the only reference of this check)")
    rng = np.random.default_rng(seed)
    m.double().train(train)
    if tm is not None:
        tm.double().train(train)
        if load:
            result = m.load_state_dict(tm.state_dict())
            assert not result.missing_keys and not result.unexpected_keys
    twins = [copy.deepcopy(m).to(d) for d in DEVICES[1:]]     # before the CPU run changes any buffer
    xs = [minigrad.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    y = m(*xs)
    v = rng.standard_normal(y.shape)
    y.backward(minigrad.tensor(v))
    for twin, device in zip(twins, DEVICES[1:]):
        _check_device(twin, m, device, inputs, xs, y, v)
    if tm is not None:
        txs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
        ty = tm(*txs)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg="forward differs from torch")
        ty.backward(torch.tensor(v))
        for x, tx in zip(xs, txs):
            if x.requires_grad:
                np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=atol, rtol=rtol,
                                           err_msg="input gradient differs from torch")
        tparams = dict(tm.named_parameters())
        assert [n for n, _ in m.named_parameters()] == list(tparams)
        for name, p in m.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"gradient of {name} differs from torch")
        for (name, b), (tname, tb) in zip(m.named_buffers(), tm.named_buffers()):
            assert name == tname
            np.testing.assert_allclose(b.numpy(), tb.numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"buffer {name} differs from torch")
    if check_grad:
        params = [p for p in m.parameters() if p.requires_grad]
        n_in = len(xs)
        saved = [(b, b.array.copy()) for b in m.buffers()]     # gradcheck's many calls must not leave a trace
        assert gradcheck(lambda *a: m(*a[:n_in]), xs + params)
        for b, a in saved:
            b.array[...] = a
    return y


def _check_device(twin, m, device, inputs, xs, y, v):
    """``twin`` (a copy of ``m`` on ``device``) on the same inputs and upstream gradient as ``m`` on the CPU:
    the same output, input and parameter gradients and buffers (to 1e-6: another summation order)."""
    txs = [minigrad.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in inputs]
    ty = twin(*txs)
    assert ty.device == device
    ty.backward(minigrad.tensor(v, dtype=ty.dtype, device=device))
    close = dict(atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(ty.detach().cpu().numpy(), y.detach().numpy(), **close,
                               err_msg=f"forward on {device} differs from the CPU")
    for k, (tx, x) in enumerate(zip(txs, xs)):
        if x.requires_grad:
            np.testing.assert_allclose(tx.grad.cpu().numpy(), x.grad.numpy(), **close,
                                       err_msg=f"gradient of input {k} on {device} differs from the CPU")
    for (name, tp), (_, p) in zip(twin.named_parameters(), m.named_parameters()):
        assert tp.device == device and (tp.grad is None) == (p.grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(tp.grad.cpu().numpy(), p.grad.numpy(), **close,
                                       err_msg=f"gradient of {name} on {device} differs from the CPU")
    for (name, tb), (_, b) in zip(twin.named_buffers(), m.named_buffers()):
        np.testing.assert_allclose(tb.cpu().numpy(), b.numpy(), **close,
                                   err_msg=f"buffer {name} on {device} differs from the CPU")
