"""Check analytic gradients against central finite differences (float64), PyTorch's way.

The function's outputs are contracted with a RANDOM upstream gradient ``v`` (never all ones: a ``sum()``
seed cannot see a softmax or BatchNorm bug, whose gradient of the sum is zero). For each input ``x`` the
analytic ``J^T v`` (one backward) is compared with the numeric ``d <v, f(x)> / dx``: element by element on
small inputs, along random directions ``u`` on large ones (``<J^T v, u>`` against the directional
difference), the "fast mode".
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor
from .engine import grad


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient disagrees with the numeric one."""


def _outputs(func, inputs):
    out = func(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def _diff_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _check_float64(inputs):
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            warnings.warn(f"gradcheck: an input is {t.dtype}, not float64; finite differences in single "
                          f"precision are too coarse to check gradients reliably", stacklevel=3)


def _contract(func, inputs, vs):
    """<v, f(inputs)> as a Python float (in grad mode: ``func`` may itself call autograd.grad)."""
    outs = _outputs(func, inputs)
    return float(sum(float((backend.to_numpy(o.array).astype(np.float64) * v).sum())
                     for o, v in zip(outs, vs) if o.dtype.kind == "f"))


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=False,
              nondet_tol=0.0, max_elements=2048, n_directions=8, seed=0):
    """True when every input's analytic gradient of ``func`` matches central differences.

    ``inputs`` is a Tensor or a tuple; those with ``requires_grad=True`` are checked (make them float64).
    Inputs with more than ``max_elements`` elements, or all inputs when ``fast_mode=True``, are checked
    along ``n_directions`` random directions instead of element by element. On failure it raises
    :class:`GradcheckError` naming the input, the worst index, the analytic and numeric values and the
    relative error (or returns False when ``raise_exception=False``). It warns when an element sits on a
    kink (one-sided differences disagree), where no derivative exists to check.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    _check_float64(inputs)
    rng = np.random.default_rng(seed)
    outs = _outputs(func, inputs)
    vs = [rng.standard_normal(o.shape) for o in outs]
    diff = _diff_inputs(inputs)
    if not diff:
        raise ValueError("gradcheck: no input has requires_grad=True")
    float_outs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if float_outs:
        analytic = grad([o for o, _ in float_outs],
                        [inputs[i] for i in diff],
                        [Tensor._wrap(o._xp.asarray(v, dtype=o.dtype)) for o, v in float_outs],
                        allow_unused=True)
    else:
        analytic = [None] * len(diff)

    for k, i in enumerate(diff):
        x = inputs[i]
        a = np.zeros(x.shape) if analytic[k] is None else backend.to_numpy(analytic[k].array).astype(np.float64)
        if not x.array.flags.c_contiguous:
            x.array = x._xp.ascontiguousarray(x.array)
        flat = x.array.reshape(-1)          # a view: perturbing it perturbs x in place
        if fast_mode or x.numel() > max_elements:
            ok, msg = _check_directions(func, inputs, vs, x, flat, a, eps, atol, rtol, rng, n_directions, i)
        else:
            ok, msg = _check_elements(func, inputs, vs, flat, a, eps, atol, rtol, i, x.shape)
        if not ok:
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _perturbed(func, inputs, vs, flat, j, delta):
    old = flat[j].item()
    flat[j] = old + delta
    try:
        return _contract(func, inputs, vs)
    finally:
        flat[j] = old


def _check_elements(func, inputs, vs, flat, a, eps, atol, rtol, i, shape):
    a = a.reshape(-1)
    numeric = np.empty_like(a)
    f0 = _contract(func, inputs, vs)
    kinks = []
    for j in range(flat.size):
        fp = _perturbed(func, inputs, vs, flat, j, eps)
        fm = _perturbed(func, inputs, vs, flat, j, -eps)
        numeric[j] = (fp - fm) / (2 * eps)
        fwd, bwd = (fp - f0) / eps, (f0 - fm) / eps      # one-sided slopes disagree at a kink
        if abs(fwd - bwd) > 1e-2 * max(1.0, abs(fwd), abs(bwd)):
            kinks.append(j)
    if kinks:
        where = ", ".join(str(tuple(int(v) for v in np.unravel_index(j, shape))) for j in kinks[:5])
        warnings.warn(f"gradcheck: input {i} sits on a kink at {len(kinks)} element(s), e.g. {where}: "
                      f"no derivative exists there, so those elements are not checked; move the inputs "
                      f"away from it (e.g. relu or abs at 0, ties in max)", stacklevel=3)
    err = np.abs(a - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    bad[kinks] = False
    if not bad.any():
        return True, ""
    rel = np.where(bad, err / np.maximum(np.abs(numeric), 1e-12), -1)
    worst_j = int(np.argmax(rel))
    idx = tuple(int(v) for v in np.unravel_index(worst_j, shape))
    return False, (f"Jacobian mismatch for input {i} (shape {tuple(shape)}): {int(bad.sum())} of {a.size} "
                   f"elements differ; worst at index {idx}: analytic {a[worst_j]:.10g}, numeric "
                   f"{numeric[worst_j]:.10g}, relative error {rel[worst_j]:.3g} (atol={atol}, rtol={rtol})")


def _check_directions(func, inputs, vs, x, flat, a, eps, atol, rtol, rng, n, i):
    base = flat.copy()
    worst = None
    for d in range(n):
        u = rng.standard_normal(flat.shape)
        u_dev = backend.to_device(u, x.device).astype(flat.dtype)
        try:
            flat[...] = base + eps * u_dev
            fp = _contract(func, inputs, vs)
            flat[...] = base - eps * u_dev
            fm = _contract(func, inputs, vs)
        finally:
            flat[...] = base
        numeric = (fp - fm) / (2 * eps)
        analytic = float((a.reshape(-1) * u).sum())
        err = abs(analytic - numeric)
        if err > atol + rtol * abs(numeric):
            rel = err / max(abs(numeric), 1e-12)
            if worst is None or rel > worst[0]:
                worst = (rel, d, analytic, numeric)
    if worst is None:
        return True, ""
    rel, d, an, nu = worst
    return False, (f"Jacobian mismatch for input {i} (shape {tuple(x.shape)}) along random direction {d}: "
                   f"analytic <J^T v, u> = {an:.10g}, numeric = {nu:.10g}, relative error {rel:.3g} "
                   f"(atol={atol}, rtol={rtol})")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  fast_mode=False, seed=0, **kwargs):
    """Check second derivatives: gradcheck of ``(inputs, v) -> grad(func(inputs), inputs, v,
    create_graph=True)``, with a random ``v`` unless ``grad_outputs`` is given."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    rng = np.random.default_rng(seed + 1)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [Tensor._wrap(o._xp.asarray(rng.standard_normal(o.shape), dtype=o.dtype), True)
                        for o in outs]
    else:
        grad_outputs = [g if isinstance(g, Tensor) else Tensor(g) for g in
                        ((grad_outputs,) if isinstance(grad_outputs, Tensor) else grad_outputs)]
    diff = _diff_inputs(inputs)
    n_in = len(inputs)

    def first_grads(*args):
        xs, gs = args[:n_in], args[n_in:]
        ys = _outputs(func, xs)
        pairs = [(y, g) for y, g in zip(ys, gs) if y.requires_grad]
        return grad([y for y, _ in pairs], [xs[i] for i in diff], [g for _, g in pairs],
                    create_graph=True, allow_unused=True)

    def nonnull(*args):
        gs = first_grads(*args)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    return gradcheck(nonnull, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, fast_mode=fast_mode, seed=seed, **kwargs)
