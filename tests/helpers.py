"""The one harness every op test uses: declare inputs and a reference, ``check_op`` does the rest.

For an op ``fn`` (minigrad) and its reference ``ref`` (a function of torch tensors, or of NumPy arrays):
1. forward parity in float64 against the reference;
2. backward parity: the gradient of <v, fn(x)> for a random upstream ``v`` against torch's;
3. a float64 finite-difference gradcheck (random upstream gradient, inside gradcheck);
4. a gradgradcheck when ``second_order`` is set;
5. the same forward and backward on CUDA, compared with the CPU result, when a GPU is present.
Parity steps skip (only) when torch is missing.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.autograd import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # parity checks skip; gradchecks still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
requires_cuda = pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA GPU (or no CuPy)")

DEVICES = ["cpu"] + (["cuda"] if minigrad.is_cuda_available() else [])


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Values with |x| in [low, high] and random signs: no kinks at 0 for relu/abs/clamp tests."""
    return np.asarray(rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape))


def _outputs(out):
    return (out,) if isinstance(out, minigrad.Tensor) else tuple(out)


def check_op(fn, inputs, ref=None, *, grad_inputs=None, second_order=True, atol=1e-7, rtol=1e-6,
             seed=0, gradcheck_kwargs=None):
    """Run the op checks described in the module docstring.

    ``inputs``: NumPy arrays (float64 ones become tensors that require grad unless ``grad_inputs`` lists
    the indices that should) or other values passed through unchanged (ints, tuples).
    ``ref``: a function of torch tensors (same positions), or None to skip parity.
    """
    rng = np.random.default_rng(seed)
    inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in inputs]
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray) and a.dtype == np.float64]

    def make(device):
        return [minigrad.tensor(a, device=device, requires_grad=i in grad_inputs)
                if isinstance(a, np.ndarray) else a for i, a in enumerate(inputs)]

    xs = make("cpu")
    outs = _outputs(fn(*xs))
    vs = [rng.standard_normal(o.shape) for o in outs]
    diff_outs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    grads = []
    if diff_outs:
        grads = minigrad.autograd.grad([o for o, _ in diff_outs], [xs[i] for i in grad_inputs],
                                       [minigrad.tensor(v) for _, v in diff_outs], allow_unused=True)

    if ref is not None and torch is not None:
        ts = [torch.tensor(a, requires_grad=i in grad_inputs) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(inputs)]
        touts = ref(*ts)
        touts = (touts,) if isinstance(touts, torch.Tensor) else tuple(touts)
        assert len(touts) == len(outs), f"{len(outs)} outputs, torch gives {len(touts)}"
        for o, t in zip(outs, touts):
            assert tuple(o.shape) == tuple(t.shape), f"shape {tuple(o.shape)} != torch {tuple(t.shape)}"
            np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol,
                                       err_msg="forward differs from torch")
        tdiff = [(t, torch.tensor(v)) for (o, v), t in zip(zip(outs, vs), touts) if o.requires_grad]
        if tdiff:
            tgrads = torch.autograd.grad([t for t, _ in tdiff], [ts[i] for i in grad_inputs],
                                         [v for _, v in tdiff], allow_unused=True)
            for k, (g, tg) in enumerate(zip(grads, tgrads)):
                if tg is None:
                    assert g is None or np.allclose(g.numpy(), 0), f"input {grad_inputs[k]}: torch has no grad"
                    continue
                assert g is not None, f"input {grad_inputs[k]}: no gradient, torch has one"
                np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=atol, rtol=rtol,
                                           err_msg=f"gradient of input {grad_inputs[k]} differs from torch")

    kw = dict(gradcheck_kwargs or {})
    assert gradcheck(fn, xs, **kw)
    if second_order:
        assert gradgradcheck(fn, xs, **kw)

    for device in DEVICES[1:]:
        gxs = make(device)
        gouts = _outputs(fn(*gxs))
        for o, g in zip(outs, gouts):
            assert g.device == device
            np.testing.assert_allclose(g.detach().cpu().numpy(), o.detach().numpy(), atol=1e-6, rtol=1e-6)
        if diff_outs:
            ggrads = minigrad.autograd.grad([g for g, o in zip(gouts, outs) if o.requires_grad],
                                            [gxs[i] for i in grad_inputs],
                                            [minigrad.tensor(v, device=device) for _, v in diff_outs],
                                            allow_unused=True)
            for g, c in zip(ggrads, grads):
                if c is not None:
                    np.testing.assert_allclose(g.cpu().numpy(), c.numpy(), atol=1e-6, rtol=1e-6)
    return outs
