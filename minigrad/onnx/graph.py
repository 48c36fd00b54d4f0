"""The ONNX graph under construction (nodes, initializers, names of values) and the exporter's error."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


class ExportError(RuntimeError):
    """The model cannot be written as ONNX: an op without a converter, or a pattern ONNX cannot express."""


def import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("minigrad.onnx.export needs the onnx package: pip install onnx "
                          "(or pip install minigrad[onnx])") from None
    return onnx


class Graph:
    """The ONNX graph being built. ``value(t)`` is the name of a Tensor's value: the node output that made
    it, or an initializer holding its data when it does not depend on the model's input."""

    def __init__(self, onnx, opset, param_names):
        self.onnx, self.opset, self.param_names = onnx, opset, param_names
        self.nodes, self.initializers = [], []
        self.live = {}       # id(Tensor) -> (name, version when it was made)
        self.consts = {}     # id(Tensor) -> initializer name
        self.keep = []       # every Tensor seen, so that no id is reused while tracing
        self.count = 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def is_live(self, t):
        return isinstance(t, Tensor) and id(t) in self.live

    def bind(self, t, name):
        self.live[id(t)] = (name, t._version[0])
        self.keep.append(t)

    def value(self, t):
        if id(t) in self.live:
            name, version = self.live[id(t)]
            if t._version[0] != version:
                raise ExportError(f"a tensor of shape {tuple(t.shape)} ({name}) was changed in place by an "
                                  f"operation the exporter does not see; write that step out of place")
            return name
        if id(t) not in self.consts:
            self.keep.append(t)
            self.consts[id(t)] = self.const(backend.to_numpy(t.array), self.param_names.get(id(t)))
        return self.consts[id(t)]

    def const(self, array, name=None):
        name = name or self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64))

    def scalar(self, value, like):
        """A 0-d initializer of ``like``'s dtype."""
        return self.const(np.asarray(value, dtype=like.dtype))

    def node(self, op, inputs, **attrs):
        out = self.fresh(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def reduce(self, op, x, axes, keepdims):
        """ReduceMean/ReduceMax/...: axes became an input in opset 18 (ReduceSum: 13)."""
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op, [x], axes=list(axes), keepdims=int(keepdims))

    def elem_type(self, dtype):
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
