"""PyTorch's form of a custom op, beside minigrad's own (``forward`` on arrays, ``Op(*hyper)(*inputs)``).

    class Cube(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return 3 * x * x * gy

    y = Cube.apply(x)

``forward(ctx, *args)`` runs on Tensors with grad mode off; ``backward(ctx, *grads)`` returns one gradient
per argument of forward (None for non-Tensors) and runs in the engine's grad mode, so a backward written
with minigrad ops is twice differentiable. PyTorch's newer split, ``forward(*args)`` plus
``setup_context(ctx, inputs, output)``, works too. One graph node (:class:`CtxNode`) stands for the call; a
forward that returns several Tensors gets one small :class:`_Select` node per output in front of it.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor
from . import engine
from .engine import _FREED, is_grad_enabled, no_grad


class Function(engine.Function):
    """A differentiable op, written in either form.

    minigrad's form: ``forward(self, *arrays)`` on raw arrays and ``backward(self, gy)``, hyper-parameters
    in ``__init__``, applied with ``Op(*hyper)(*inputs)`` (every built-in op is written so).
    PyTorch's form: ``@staticmethod forward(ctx, *args)`` on Tensors and ``@staticmethod backward(ctx,
    *grads)``, applied with ``Op.apply(*args)`` (see the module docstring).
    """

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._ctx_form = isinstance(cls.__dict__.get("forward"), staticmethod) or (
            getattr(cls, "_ctx_form", False) and "forward" not in cls.__dict__)

    @classmethod
    def apply(cls, *args):
        """Run the op on ``args`` and record it: PyTorch's entry point (``MyOp()(*args)`` in minigrad's form)."""
        if not cls._ctx_form:
            return cls()(*args)
        return _apply(cls, args)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch's split form: when a subclass defines it, ``forward`` takes no ctx and this fills it."""
        raise NotImplementedError


class FunctionCtx:
    """The ``ctx`` of one call: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``,
    ``mark_non_differentiable``, ``set_materialize_grads``; any other attribute is the user's."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._to_save, self._versions, self._non_differentiable, self._freed = (), (), set(), False

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward accepts Tensors or None, got {type(t).__name__} (keep other "
                                f"values as attributes of ctx: ctx.k = k)")
        self._to_save = tensors
        self._versions = tuple(None if t is None else t._version[0] for t in tensors)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_FREED)
        for i, (t, v) in enumerate(zip(self._to_save, self._versions)):
            if t is not None and t._version[0] != v:
                raise RuntimeError(f"saved tensor {i} (shape {tuple(t.shape)}) was modified by an in-place "
                                   f"operation after save_for_backward: it is at version {t._version[0]}, "
                                   f"expected version {v}")
        return tuple(self._to_save)

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient (indices, masks); backward still receives a (zero) slot for them."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_non_differentiable accepts output Tensors, got {type(t).__name__}")
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Accepted for PyTorch code; minigrad does not rebase in-place outputs in the graph."""

    def set_materialize_grads(self, value):
        """True (the default): gradients of unused outputs reach backward as zeros, not None."""
        self.materialize_grads = bool(value)


class _Grads:
    """The gradients of a multi-output node's outputs, as the engine accumulates them (``a + b``)."""
    shape = dtype = None        # the engine's _fit leaves it alone

    def __init__(self, items):
        self.items = items

    @property
    def _first(self):
        return next(g for g in self.items if g is not None)

    array = property(lambda self: self._first.array)      # the engine runs backward on the gradient's device
    device = property(lambda self: self._first.device)

    def __add__(self, other):
        return _Grads([b if a is None else a if b is None else a + b for a, b in zip(self.items, other.items)])


class CtxNode(engine.Function):
    """The graph node of one ``MyOp.apply(...)``: its backward calls ``MyOp.backward(ctx, *grads)``."""
    save_inputs = False

    def name(self):
        return self.op_name + "Backward"

    def release(self):
        ctx, op_name = self.ctx, self.op_name
        ctx._to_save, ctx._freed = (), True
        super().release()
        self.op_name = op_name

    def backward(self, gy):
        grads = gy.items if isinstance(gy, _Grads) else [gy]
        if self.ctx.materialize_grads:
            grads = [Tensor._wrap(xp.zeros(s, d)) if g is None else g for g, (s, d, xp) in zip(grads, self.out_meta)]
        gxs = self.op.backward(self.ctx, *grads)
        gxs = tuple(gxs) if isinstance(gxs, (tuple, list)) else (gxs,)
        if len(gxs) != len(self.arg_shapes):
            raise RuntimeError(f"{self.op_name}.backward returned {len(gxs)} gradients, expected "
                               f"{len(self.arg_shapes)} (one per argument of forward, None for non-Tensors)")
        result = []
        for i, (g, shape) in enumerate(zip(gxs, self.arg_shapes)):
            if shape is None:                     # a non-Tensor argument
                if g is not None:
                    raise RuntimeError(f"{self.op_name}.backward returned a gradient for argument {i}, "
                                       f"which is not a Tensor; return None there")
                continue
            if g is not None:
                if not isinstance(g, Tensor):
                    raise TypeError(f"{self.op_name}.backward returned a {type(g).__name__} for argument {i}; "
                                    f"expected a Tensor or None")
                try:
                    ok = np.broadcast_shapes(g.shape, shape) == tuple(g.shape)   # equal, or sums back to it
                except ValueError:
                    ok = False
                if not ok:
                    raise RuntimeError(f"{self.op_name}.backward returned a gradient of shape {tuple(g.shape)} "
                                       f"for argument {i}, whose shape is {shape}")
            result.append(g)
        return tuple(result)


class _Select(engine.Function):
    """Output ``i`` of a multi-output CtxNode: passes its gradient on in slot ``i``."""
    save_inputs = False

    def __init__(self, i, n):
        self.i, self.n = i, n

    def backward(self, gy):
        items = [None] * self.n
        items[self.i] = gy
        return _Grads(items)


def _apply(cls, args):
    """``cls.apply(*args)`` for the ctx form: run forward without a graph, then record one node for it."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
    split = cls.setup_context is not Function.setup_context
    with no_grad():
        outs = cls.forward(*args) if split else cls.forward(ctx, *args)
        if split:
            cls.setup_context(ctx, args, outs)
    single = isinstance(outs, Tensor)
    outs = (outs,) if single else tuple(outs)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{cls.__name__}.forward returned a {type(o).__name__} as output {i}; expected Tensors")
    record = is_grad_enabled() and any(t.requires_grad for t in tensors)
    # Fresh Tensors around the results: an input returned as is must not get this node as its grad_fn.
    wrapped = []
    for o in outs:
        w = Tensor._wrap(o.array, record and o.dtype.kind == "f" and id(o) not in ctx._non_differentiable)
        w._version = o._version
        wrapped.append(w)
    if not record:
        return wrapped[0] if single else tuple(wrapped)
    swap = {id(o): w for o, w in zip(outs, wrapped)}     # a saved output is the recorded one
    ctx._to_save = tuple(swap.get(id(t), t) for t in ctx._to_save)

    node = CtxNode()
    node.op, node.op_name, node.ctx = cls, cls.__name__, ctx
    node.arg_shapes = tuple(tuple(a.shape) if isinstance(a, Tensor) else None for a in args)
    node.out_meta = tuple((o.shape, o.dtype, o._xp) for o in wrapped)
    _link(node, [t.requires_grad for t in tensors], [(t.shape, t.dtype) for t in tensors],
          tuple((t.grad_fn if t.grad_fn is not None else t) if t.requires_grad else None for t in tensors))
    if single:
        node.output = weakref.ref(wrapped[0])
        if wrapped[0].requires_grad:
            wrapped[0].grad_fn = node
        return wrapped[0]
    node.output = lambda: None
    for i, w in enumerate(wrapped):
        if w.requires_grad:
            sel = _Select(i, len(wrapped))
            _link(sel, [True], [(None, None)], (node,))
            sel.output = weakref.ref(w)
            w.grad_fn = sel
    return tuple(wrapped)


def _link(node, needs, meta, next_functions):
    """Make ``node`` a recorded graph node (what ``engine.Function.__call__`` sets for minigrad's form)."""
    node.needs_input_grad, node.meta, node.next_functions = tuple(needs), tuple(meta), next_functions
    node.freed = False
