"""Reverse-mode automatic differentiation.

A :class:`Function` is one primitive: ``forward`` on raw arrays, ``backward`` right under it, written with
minigrad ops so that the gradient is itself a graph when ``create_graph=True``. Calling a Function records
it as the ``grad_fn`` of its output; the graph's edges point from each Function to the Functions (or leaf
tensors) that made its inputs. :func:`backward` walks that graph once in reverse topological order (an
iterative sort: a chain of 10,000 ops does not hit Python's recursion limit). Broadcasting is undone here,
in one place (:func:`_fit`), not in each op.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import weakref

import numpy as np

from .. import backend
from ..tensor import Tensor

# ---------------------------------------------------------------------------------------------- grad mode

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = self.mode

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False


@contextlib.contextmanager
def trace_functions(callback):
    """Within the block, ``callback(function, inputs, output)`` runs after every Function applied in this
    thread, in order (how ``minigrad.onnx.export`` sees one forward pass)."""
    prev = getattr(_state, "tracer", None)
    _state.tracer = callback
    try:
        yield
    finally:
        _state.tracer = prev


class no_grad(set_grad_enabled):
    """``with minigrad.no_grad():`` records no graph (inference, parameter updates)."""

    def __init__(self):
        super().__init__(False)


class inference_mode(set_grad_enabled):
    """``with minigrad.inference_mode():`` (or as a decorator): PyTorch's faster no_grad; here the same as
    :class:`no_grad` (tensors made inside are ordinary tensors). ``inference_mode(False)`` records."""

    def __init__(self, mode=True):
        super().__init__(not mode)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


class _Hooks:
    """What the engine calls when a mode is on; None when off (a single attribute test per op)."""
    # set by autograd/anomaly.py's detect_anomaly: .forward(fn, inputs, y) after each op's forward,
    # .backward(fn, gy) in place of fn.backward(gy)
    anomaly = None


# ----------------------------------------------------------------------------------------------- Function

_FREED = ("Trying to backward through the graph a second time (or to read saved tensors after they were "
          "freed). Saved intermediate values of the graph are freed after backward(); pass "
          "retain_graph=True to the first backward() if you need to backward through it again.")


class Function:
    """One differentiable primitive. Subclasses write ``forward(*arrays) -> array`` and ``backward(gy)``.

    Hyper-parameters go to ``__init__``; apply with ``Op(*hyper)(*inputs)``. ``backward`` receives the
    output gradient as a Tensor and returns one Tensor (or None) per forward input, in order.
    ``save_inputs = False`` (backward never calls ``saved_inputs()``) lets intermediates be freed early;
    ``save_output = True`` is needed for ``saved_output()``.
    """

    returns_view = False   # the output may share memory with input 0 (reshape, permute, basic indexing)
    # What backward reads, kept alive until the pass is over: the inputs (``saved_inputs()``; ops whose
    # backward needs none of them say False, so intermediates die as early as in PyTorch) and the output
    # (``saved_output()``: exp, tanh, softmax differentiate through it).
    save_inputs = True
    save_output = False

    # set by __call__ when a graph is recorded
    inputs = ()
    next_functions = ()
    needs_input_grad = ()
    xp = None

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def __call__(self, *inputs):
        arrays = []
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{type(self).__name__} expects Tensors, got {type(t).__name__}")
            arrays.append(t.array)
        if len(inputs) > 1:
            _check_same_device(type(self).__name__, inputs)
        self.xp = inputs[0]._xp if inputs else None
        if arrays and type(arrays[0]) is not np.ndarray:      # a GPU array: run on its device
            with backend.on(backend.device_of(arrays[0])):
                y = self.forward(*arrays)
        else:
            y = self.forward(*arrays)
        if isinstance(y, np.generic):     # NumPy reductions to 0-d return scalars; keep arrays
            y = np.asarray(y)
        requires_grad = is_grad_enabled() and any(t.requires_grad for t in inputs)
        if _Hooks.anomaly is not None:
            stack = _Hooks.anomaly.forward(self, inputs, y)
            if requires_grad:
                self.anomaly_stack = stack
        out = Tensor._wrap(y, requires_grad)
        if self.returns_view and y is not arrays[0] and getattr(y, "base", None) is not None:
            out._version = inputs[0]._version
        if requires_grad:
            if self.save_inputs:
                self.inputs = inputs
                self.versions = tuple(t._version[0] for t in inputs)
            if self.save_output:       # the array, not the Tensor: no reference cycle through grad_fn
                self.out_array, self.out_version = y, (out._version, out._version[0])
            self.needs_input_grad = tuple(t.requires_grad for t in inputs)
            self.next_functions = tuple(
                (t.grad_fn if t.grad_fn is not None else t) if t.requires_grad else None for t in inputs)
            self.meta = tuple((t.shape, t.dtype) for t in inputs)
            self.output = weakref.ref(out)
            self.freed = False
            out.grad_fn = self
        tracer = getattr(_state, "tracer", None)
        if tracer is not None:
            tracer(self, inputs, out)
        return out

    # -- what backward reads
    def saved_inputs(self):
        """The input Tensors, checked against in-place changes made after forward."""
        if self.freed:
            raise RuntimeError(_FREED)
        if not self.save_inputs:
            raise RuntimeError(f"{self.name()} reads its inputs in backward but its class says save_inputs = False")
        for i, (t, v) in enumerate(zip(self.inputs, self.versions)):
            if t._version[0] != v:
                raise RuntimeError(
                    f"one of the tensors needed by {self.name()} for its gradient (input {i}, shape "
                    f"{tuple(t.shape)}) was modified by an in-place operation after it was used: it is at "
                    f"version {t._version[0]}, expected version {v}. Make a copy (x = x.clone()) before "
                    f"changing it, or do the change out of place.")
        return self.inputs

    def saved_output(self):
        """The output Tensor (exp, tanh, sigmoid and softmax differentiate through their output)."""
        if self.freed:
            raise RuntimeError(_FREED)
        if not self.save_output:
            raise RuntimeError(f"{self.name()} reads its output in backward but its class says save_output = False")
        counter, version = self.out_version
        if counter[0] != version:
            raise RuntimeError(f"the output of {self.name()} (shape {tuple(self.out_array.shape)}), needed for "
                               f"its gradient, was modified by an in-place operation: it is at version "
                               f"{counter[0]}, expected version {version}")
        out = self.output()
        if out is None or out.grad_fn is not self:   # the user dropped it: the same node, rebuilt
            out = Tensor._wrap(self.out_array, True)
            out.grad_fn, out._version = self, counter
        return out

    def wrap(self, array):
        """A Tensor around a raw array (for first-order-only backward formulas)."""
        return Tensor._wrap(array, False)

    def release(self):
        """Drop what was saved for backward (the graph's edges stay, so a second backward can say why)."""
        self.inputs = ()
        self.freed = True
        for k in list(vars(self)):
            if k not in ("next_functions", "needs_input_grad", "meta", "freed", "output", "xp"):
                delattr(self, k)

    def name(self):
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"


def _check_same_device(op, tensors):
    if all(type(t.array) is np.ndarray for t in tensors):   # the common case, all on the CPU
        return
    first = tensors[0].device
    for t in tensors[1:]:
        if t.device != first:
            raise RuntimeError(
                f"{op}: expected all tensors on the same device, but found at least two devices, "
                f"{first} and {t.device} (shapes {tuple(tensors[0].shape)} and {tuple(t.shape)})")


# ------------------------------------------------------------------------------------------ broadcasting
# Broadcasting and its adjoint live here, beside the engine that undoes every broadcast (``_fit``).

class Expand(Function):
    """x broadcast to ``shape`` without copying (a view); the gradient is summed back."""
    save_inputs = False
    returns_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return SumTo(self.in_shape)(gy) if gy.shape != self.in_shape else gy


class SumTo(Function):
    """Sum a broadcast array back down to ``shape`` (the adjoint of broadcasting)."""
    save_inputs = False

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):
        return Expand(self.in_shape)(gy)


# ----------------------------------------------------------------------------------------------- engine

def _topo_order(roots):
    """Functions reachable from ``roots``, each after every Function that consumes its output."""
    order, seen = [], set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.next_functions))]
        while stack:
            fn, it = stack[-1]
            for nxt in it:
                if isinstance(nxt, Function) and id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append((nxt, iter(nxt.next_functions)))
                    break
            else:
                stack.pop()
                order.append(fn)
    order.reverse()
    return order


def _fit(gx, shape, dtype):
    """Sum a broadcast gradient back to its input's shape and cast it to the input's dtype."""
    if gx.shape != shape:
        gx = SumTo(shape)(gx)
    if gx.dtype != dtype:
        gx = gx.to(dtype)
    return gx


def _accumulate(store, key, g):
    prev = store.get(key)
    store[key] = g if prev is None else prev + g


def _own(g):
    """``g``'s values in a new array, with no graph."""
    with backend.on(g.device):
        return Tensor._wrap(g._xp.array(g.array, copy=True))


_final_callbacks = []    # run when the backward() now running has written every leaf's .grad


def queue_callback(fn):
    """Run ``fn()`` once the backward pass now running has set every leaf's ``.grad`` (the engine's
    ``queue_callback`` in PyTorch). A Function's backward queues it; DistributedDataParallel averages the
    gradients across ranks there. ``autograd.grad`` touches no ``.grad`` and drops what was queued."""
    _final_callbacks.append(fn)


def _run_backward(outputs, grad_outputs, retain_graph, create_graph, capture=None):
    """The engine. Accumulates into leaf ``.grad`` or, when ``capture`` (a dict of id -> Tensor) is given,
    collects the gradients of exactly those tensors and touches no ``.grad``."""
    grads = {}            # Function -> gradient of its output
    leaf_grads = {}       # id(leaf) -> (leaf, gradient)
    captured = {}
    for t, g in zip(outputs, grad_outputs):
        if t.grad_fn is not None:
            _accumulate(grads, t.grad_fn, g)
        elif t.requires_grad:
            prev = leaf_grads.get(id(t))
            leaf_grads[id(t)] = (t, g if prev is None else prev[1] + g)
    order = _topo_order([t.grad_fn for t in outputs])
    capture_fns = {} if capture is None else {
        id(t.grad_fn): i for i, t in capture.items() if t.grad_fn is not None}

    with set_grad_enabled(create_graph):
        for fn in order:
            gy = grads.pop(fn, None)
            if gy is None:
                continue
            if fn.freed:
                raise RuntimeError(_FREED)
            out = fn.output()
            if out is not None and out._hooks:
                gy = _run_hooks(out, gy)
            if id(fn) in capture_fns:
                captured[capture_fns[id(fn)]] = gy
            if out is not None and out._retains_grad and capture is None:
                # a copy: gy may be the caller's gradient or flow on unchanged (Add) to another tensor
                out.grad = out.grad + gy if out.grad is not None else gy if create_graph else _own(gy)
            run = fn.backward if _Hooks.anomaly is None else functools.partial(_Hooks.anomaly.backward, fn)
            if type(gy.array) is np.ndarray:
                gxs = run(gy)
            else:                                   # a GPU gradient: its backward runs on its device
                with backend.on(gy.device):
                    gxs = run(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if len(gxs) != len(fn.next_functions):
                raise RuntimeError(f"{fn.name()} returned {len(gxs)} gradients for "
                                   f"{len(fn.next_functions)} inputs")
            for gx, nxt, (shape, dtype) in zip(gxs, fn.next_functions, fn.meta):
                if gx is None or nxt is None:
                    continue
                gx = _fit(gx, shape, dtype)
                if isinstance(nxt, Function):
                    _accumulate(grads, nxt, gx)
                else:
                    prev = leaf_grads.get(id(nxt))
                    leaf_grads[id(nxt)] = (nxt, gx if prev is None else prev[1] + gx)
            if not retain_graph:
                fn.release()          # what it saved is not needed again: free it now, as PyTorch does

    for key, (leaf, g) in leaf_grads.items():
        if leaf._hooks:
            g = _run_hooks(leaf, g)
        if capture is not None:
            if key in capture:
                captured[key] = g
            continue
        if leaf.grad is not None:
            g = leaf.grad + g                   # a new array
        elif not create_graph:
            # Own the memory: the engine may hand the same array (or a broadcast view, or the user's
            # upstream gradient) to several inputs; .grad must be safe to change in place.
            g = _own(g)
        leaf.grad = g if create_graph else g.detach()
    callbacks, _final_callbacks[:] = list(_final_callbacks), []
    if capture is None:
        for fn in callbacks:
            fn()
    return captured


def _run_hooks(t, g):
    """``t.register_hook`` hooks, in order; a hook that returns a Tensor replaces the gradient."""
    for hook in list(t._hooks):
        new = hook(g)
        if new is not None:
            g = new
    return g


def _make_grads(outputs, grad_outputs):
    result = []
    for t, g in zip(outputs, grad_outputs):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but the output has shape "
                    f"{tuple(t.shape)}; pass a gradient of that shape, e.g. backward(torch.ones_like(out))")
            with backend.on(t.device):
                g = Tensor._wrap(t._xp.ones(t.shape, dtype=t.dtype), False)
        elif not isinstance(g, Tensor):
            with backend.on(t.device):
                g = Tensor._wrap(t._xp.asarray(g, dtype=t.dtype), False)
        if g.shape != t.shape:
            raise RuntimeError(f"the gradient has shape {tuple(g.shape)} but the output it belongs to has "
                               f"shape {tuple(t.shape)}; they must match")
        if g.device != t.device:
            raise RuntimeError(f"the gradient is on {g.device} but its output is on {t.device}")
        result.append(g)
    return result


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (``Tensor.backward`` calls this)."""
    tensors = _as_tuple(tensors)
    grad_tensors = (None,) * len(tensors) if grad_tensors is None else _as_tuple(grad_tensors)
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors (shape {tuple(t.shape)}) does not require grad and does "
                               f"not have a grad_fn: nothing in its graph was made from a tensor with "
                               f"requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    _run_backward(tensors, _make_grads(tensors, grad_tensors), retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple, without touching any ``.grad`` (PyTorch's signature)."""
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"an input of shape {tuple(t.shape)} does not require grad")
    if not any(t.requires_grad for t in outputs):
        raise RuntimeError("none of the outputs requires grad: they do not depend on the inputs")
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(t): t for t in inputs}
    got = _run_backward(outputs, _make_grads(outputs, grad_outputs), retain_graph, create_graph, capture)
    result = []
    for t in inputs:
        g = got.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"an input of shape {tuple(t.shape)} was not used to compute the outputs; "
                               f"pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
