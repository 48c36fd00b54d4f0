"""The one harness every op test uses: declare inputs and a reference, ``check_op`` does the rest.

For an op ``fn`` (minigrad) and its references, ``check_op`` runs, each leg on the same inputs:
1. forward parity against ``np_ref`` (a function of NumPy arrays; needs nothing but NumPy);
2. forward parity and backward parity against ``ref`` (a function of torch tensors): the gradient of
   <v, fn(x)> for a random upstream ``v``, for every input that requires grad. Only this leg needs torch and
   only this leg is skipped (silently) when torch is missing; the test itself still runs;
3. layout: the op on non-contiguous views of the same values (every other element of a wider buffer, and
   the reversed-axes layout of a transpose) must give the contiguous result and gradients;
4. a float64 finite-difference gradcheck with a random upstream gradient (``gradcheck=False`` turns it
   off; ``fast=True`` checks along random directions only, for many hypothesis cases);
5. a gradgradcheck when ``second_order`` is set (and gradcheck is on);
6. the same forward and backward on CUDA, compared with the CPU result, when a GPU is present.

Inputs near a kink (relu and abs at 0, ties in max, clamp bounds) have no derivative to check. A test
declares its kinks and gives ``inputs`` as a function of a NumPy Generator; the harness redraws until no
input lies within ``kink_margin`` of a kink, as Chainer's FunctionTestCase does.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.autograd import gradcheck as _gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # parity checks skip; gradchecks still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
requires_cuda = pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA GPU (or no CuPy)")

DEVICES = ["cpu"] + (["cuda"] if minigrad.is_cuda_available() else [])
MAX_REDRAWS = 100


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Values with |x| in [low, high] and random signs: no kinks at 0 for relu/abs/clamp tests."""
    return np.asarray(rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape))


def _outputs(out):
    return (out,) if isinstance(out, minigrad.Tensor) else tuple(out)


def _near_kink(arrays, grad_inputs, kinks, margin):
    if callable(kinks):
        return bool(kinks(*arrays))
    return any(np.any(np.abs(arrays[i] - k) < margin) for i in grad_inputs for k in kinks)


def _draw(inputs, grad_inputs, kinks, margin, rng):
    """The inputs as a list, redrawn (when ``inputs`` is a function of a Generator) until off every kink."""
    for _ in range(MAX_REDRAWS):
        arrays = [np.asarray(a) if isinstance(a, np.generic) else a
                  for a in (inputs(rng) if callable(inputs) else inputs)]
        gi = grad_inputs if grad_inputs is not None else [
            i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype == np.float64]
        if kinks is None or not _near_kink(arrays, gi, kinks, margin):
            return arrays, gi
        if not callable(inputs):
            raise AssertionError(f"check_op: the inputs lie within {margin} of a declared kink; pass inputs "
                                 f"as a function of a Generator so that the harness can redraw them")
    raise AssertionError(f"check_op: {MAX_REDRAWS} draws of the inputs all landed near a kink")


def _strided(a):
    """The values of ``a`` as every other element of a wider buffer (not contiguous; a 0-d copy as is)."""
    if a.ndim == 0:
        return a.copy()
    buf = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    buf[..., ::2] = a
    return buf[..., ::2]


def _transposed(a):
    """The values of ``a`` stored with the axes reversed (the layout a ``.T`` view has)."""
    return np.ascontiguousarray(a.T).T


def _assert_close(got, want, msg, atol, rtol):
    got = got.detach().cpu().numpy() if isinstance(got, minigrad.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=msg)


def _layout_tol(t):
    """(atol, rtol) for the same op on another memory layout: a different summation order (a GEMM or an
    einsum picks its loop order from the strides) may change the last bits, ~100 ulps of the dtype. Scaled by
    the largest finite value (an infinite gradient, as of sqrt at 0, must still be infinite there)."""
    if t.dtype.kind != "f":
        return 0, 0
    rtol = max(1e-10, 100 * float(np.finfo(t.dtype).eps))
    a = np.abs(t.detach().numpy())
    return rtol * max(1.0, float(a[np.isfinite(a)].max(initial=0))), rtol


def check_op(fn, inputs, ref=None, *, np_ref=None, grad_inputs=None, gradcheck=True, second_order=True,
             fast=False, layouts=True, kinks=None, kink_margin=1e-3, atol=1e-7, rtol=1e-6, seed=0,
             gradcheck_kwargs=None):
    """Run the op checks described in the module docstring; returns the outputs of the CPU run.

    ``inputs``: a list of NumPy arrays (float64 ones become tensors that require grad unless ``grad_inputs``
    lists the indices that should) and other values passed through unchanged (ints, tuples); or a function
    of a NumPy Generator returning that list, which lets the harness redraw inputs that land on a kink.
    ``ref``: a function of torch tensors (same positions), or None. ``np_ref``: a function of NumPy arrays
    giving the expected output(s), or None. ``kinks``: values where the op has no derivative (compared with
    every input that requires grad), or a function of the input arrays returning True when they are too
    near one (ties in a max). ``layouts=False`` skips the non-contiguous runs (for ops whose inputs are
    not plain arrays of values).
    """
    rng = np.random.default_rng(seed)
    inputs, grad_inputs = _draw(inputs, grad_inputs, kinks, kink_margin, rng)

    def run(device="cpu", layout=None):
        """Forward, then <v, outputs> backward to every input that requires grad: (xs, outs, grads)."""
        xs = []
        for i, a in enumerate(inputs):
            if isinstance(a, np.ndarray):
                t = minigrad.from_numpy(layout(a)) if layout else minigrad.tensor(a, device=device)
                xs.append(t.requires_grad_() if i in grad_inputs else t)
            else:
                xs.append(a)
        outs = _outputs(fn(*xs))
        if not vs:
            vs.extend(rng.standard_normal(o.shape) for o in outs)
        diff = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        grads = minigrad.autograd.grad([o for o, _ in diff], [xs[i] for i in grad_inputs],
                                       [minigrad.tensor(v, dtype=o.dtype, device=device) for o, v in diff],
                                       allow_unused=True) if diff and grad_inputs else []
        return xs, outs, grads

    vs = []       # the random upstream gradients, drawn once the output shapes are known
    xs, outs, grads = run()

    if np_ref is not None:
        want = np_ref(*inputs)
        want = (want,) if isinstance(want, np.ndarray) or np.isscalar(want) else tuple(want)
        assert len(want) == len(outs), f"{len(outs)} outputs, the NumPy reference gives {len(want)}"
        for k, (o, w) in enumerate(zip(outs, want)):
            assert tuple(o.shape) == np.shape(w), f"output {k}: shape {tuple(o.shape)} != NumPy {np.shape(w)}"
            _assert_close(o, w, f"output {k}: forward differs from the NumPy reference", atol, rtol)

    if ref is not None and torch is not None:
        _check_torch(ref, inputs, grad_inputs, outs, vs, grads, atol, rtol)

    if layouts:
        for layout in (_strided, _transposed):
            if not any(isinstance(a, np.ndarray) and a.ndim >= (2 if layout is _transposed else 1)
                       and a.size > 1 for a in inputs):
                continue
            _, louts, lgrads = run(layout=layout)
            name = layout.__name__.strip("_")
            for k, (lo, o) in enumerate(zip(louts, outs)):
                _assert_close(lo, o.detach().numpy(), f"output {k} on {name} inputs", *_layout_tol(o))
            for k, (lg, g) in enumerate(zip(lgrads, grads)):
                if g is not None:
                    _assert_close(lg, g.numpy(), f"gradient of input {grad_inputs[k]} on {name} inputs",
                                  *_layout_tol(g))

    if gradcheck and grad_inputs:
        kw = dict(gradcheck_kwargs or {})
        kw.setdefault("fast_mode", fast)
        assert _gradcheck(fn, xs, **kw)
        if second_order:
            assert gradgradcheck(fn, xs, **kw)

    for device in DEVICES[1:]:
        _, gouts, ggrads = run(device)
        for k, (g, o) in enumerate(zip(gouts, outs)):
            assert g.device == device
            _assert_close(g, o.detach().numpy(), f"output {k} on {device}", 1e-6, 1e-6)
        for k, (g, c) in enumerate(zip(ggrads, grads)):
            if c is not None:
                _assert_close(g, c.numpy(), f"gradient of input {grad_inputs[k]} on {device}", 1e-6, 1e-6)
    return outs


def _check_torch(ref, inputs, grad_inputs, outs, vs, grads, atol, rtol):
    ts = [torch.tensor(a, requires_grad=i in grad_inputs) if isinstance(a, np.ndarray) else a
          for i, a in enumerate(inputs)]
    touts = ref(*ts)
    touts = (touts,) if isinstance(touts, torch.Tensor) else tuple(touts)
    assert len(touts) == len(outs), f"{len(outs)} outputs, torch gives {len(touts)}"
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape), f"shape {tuple(o.shape)} != torch {tuple(t.shape)}"
        _assert_close(o, t.detach().numpy(), "forward differs from torch", atol, rtol)
    tdiff = [(t, torch.tensor(v, dtype=t.dtype)) for o, v, t in zip(outs, vs, touts) if o.requires_grad]
    if not (tdiff and grad_inputs):
        return
    tgrads = torch.autograd.grad([t for t, _ in tdiff], [ts[i] for i in grad_inputs], [v for _, v in tdiff],
                                 allow_unused=True)
    for k, (g, tg) in enumerate(zip(grads, tgrads)):
        if tg is None:
            assert g is None or np.allclose(g.numpy(), 0), f"input {grad_inputs[k]}: torch has no grad"
            continue
        assert g is not None, f"input {grad_inputs[k]}: no gradient, torch has one"
        _assert_close(g, tg.numpy(), f"gradient of input {grad_inputs[k]} differs from torch", atol, rtol)


def like(t, value):
    """``value`` (an array, number or Tensor) as a tensor on ``t``'s device: for constants that an op under
    test takes besides its inputs, so that check_op's GPU leg moves them too."""
    return value.to(t.device) if isinstance(value, minigrad.Tensor) else minigrad.tensor(value, device=t.device)


def wait_for_child(pid, timeout=120.0):
    """The exit code of forked child ``pid``, waiting at most ``timeout`` seconds: a child that hangs (a
    lock held by another thread at the fork) is killed and fails the test instead of hanging the suite."""
    import os
    import signal
    import time
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"forked child {pid} did not finish within {timeout:g} s (killed)")
        time.sleep(0.05)
