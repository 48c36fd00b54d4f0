"""ONNX converters: ``FUNCTIONS`` maps each convertible ``minigrad.ops`` Function class to
``convert(g, fn, inputs, out) -> value name``; ``MODULES`` maps nn layers that ONNX has as one operator to
``(applies(module, x), convert(g, module, x, out))``. ``g`` is the :class:`~minigrad.onnx.export.Graph`."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..ops import activation, conv, elementwise as ew, linalg, normalization, pad, pool, reduce, shape
from .graph import ExportError


# ------------------------------------------------------------------------------------ Functions (ops)

def _same(op):
    """An op whose ONNX operator takes the same inputs in the same order (elementwise, MatMul)."""
    def convert(g, fn, inputs, out):
        return g.node(op, [g.value(t) for t in inputs])
    convert.__name__ = f"convert_{op}"
    return convert


def convert_clamp(g, fn, inputs, out):
    x, = inputs
    lo = "" if fn.lo is None else g.scalar(fn.lo, x)
    hi = "" if fn.hi is None else g.scalar(fn.hi, x)
    return g.node("Clip", [g.value(x), lo, hi])


def convert_where(g, fn, inputs, out):
    cond = inputs[0]
    if not g.is_live(cond):
        raise ExportError("where() with a condition the exporter cannot follow: comparisons (x > 0, ...) are "
                          "not recorded, so a condition computed from the input would be frozen; use the nn "
                          "layer (nn.ReLU6, nn.Hardtanh, nn.LeakyReLU, nn.ELU, nn.Hardswish, nn.Hardsigmoid), "
                          "which the exporter converts as a whole")
    return g.node("Where", [g.value(t) for t in inputs])


def convert_cast(g, fn, inputs, out):
    return g.node("Cast", [g.value(inputs[0])], to=g.elem_type(fn.dtype))


def convert_identity(g, fn, inputs, out):
    return g.node("Identity", [g.value(inputs[0])])


def _window(geom):
    return dict(kernel_shape=[geom.KH, geom.KW], strides=[geom.SH, geom.SW])


def convert_conv2d(g, fn, inputs, out):
    geom = fn.g
    # bottom/right padding: just what the last window reads (PyTorch's symmetric padding may leave unread rows)
    pb = max(0, (geom.OH - 1) * geom.SH + geom.DH * (geom.KH - 1) + 1 - geom.H - geom.PH)
    pr = max(0, (geom.OW - 1) * geom.SW + geom.DW * (geom.KW - 1) + 1 - geom.W - geom.PW)
    return g.node("Conv", [g.value(t) for t in inputs], group=fn.G, dilations=[geom.DH, geom.DW],
                  pads=[geom.PH, geom.PW, pb, pr], **_window(geom))


def _ceil_mode(geom):
    """Whether the output size is PyTorch's ceil_mode one (the pools keep only the geometry)."""
    floor_oh = (geom.H + 2 * geom.PH - geom.DH * (geom.KH - 1) - 1) // geom.SH + 1
    floor_ow = (geom.W + 2 * geom.PW - geom.DW * (geom.KW - 1) - 1) // geom.SW + 1
    return int((geom.OH, geom.OW) != (floor_oh, floor_ow))


def convert_max_pool2d(g, fn, inputs, out):
    geom = fn.g
    return g.node("MaxPool", [g.value(inputs[0])], dilations=[geom.DH, geom.DW], ceil_mode=_ceil_mode(geom),
                  pads=[geom.PH, geom.PW, geom.PH, geom.PW], **_window(geom))


def convert_avg_pool2d(g, fn, inputs, out):
    geom = fn.g
    if fn.options["divisor_override"]:
        raise ExportError("avg_pool2d with divisor_override has no ONNX AveragePool equivalent")
    return g.node("AveragePool", [g.value(inputs[0])], ceil_mode=_ceil_mode(geom),
                  count_include_pad=int(fn.options["count_include_pad"]),
                  pads=[geom.PH, geom.PW, geom.PH, geom.PW], **_window(geom))


def convert_adaptive_max_pool2d(g, fn, inputs, out):
    if (fn.g.OH, fn.g.OW) != (1, 1):
        raise ExportError(f"adaptive_max_pool2d to {fn.g.OH}x{fn.g.OW} has no ONNX equivalent (1x1 has: GlobalMaxPool)")
    return g.node("GlobalMaxPool", [g.value(inputs[0])])


def convert_sum(g, fn, inputs, out):
    x, = inputs
    axes = range(x.ndim) if fn.axes is None else fn.axes
    return g.reduce("ReduceSum", g.value(x), list(axes), fn.keepdims)


def convert_amax(g, fn, inputs, out):
    x, = inputs
    axes = range(x.ndim) if fn.axes is None else fn.axes
    return g.reduce("ReduceMax", g.value(x), list(axes), fn.keepdims)


def convert_softmax(g, fn, inputs, out):
    return g.node("Softmax", [g.value(inputs[0])], axis=fn.axis)


def convert_log_softmax(g, fn, inputs, out):
    return g.node("LogSoftmax", [g.value(inputs[0])], axis=fn.axis)


def convert_reshape(g, fn, inputs, out):
    return g.node("Reshape", [g.value(inputs[0]), g.ints(out.shape)])


def convert_permute(g, fn, inputs, out):
    return g.node("Transpose", [g.value(inputs[0])], perm=list(fn.axes))


def convert_expand(g, fn, inputs, out):
    return g.node("Expand", [g.value(inputs[0]), g.ints(out.shape)])


def convert_getitem(g, fn, inputs, out):
    """Basic indexing: one Slice over the sliced dimensions, then a Reshape to drop integer-indexed
    dimensions and add the ``None`` ones."""
    x, = inputs
    key = fn.key if isinstance(fn.key, tuple) else (fn.key,)
    if not shape.is_basic(key):
        raise ExportError("indexing with integer or boolean arrays (advanced indexing) has no converter; "
                          "slices, integers, None and ... are converted")
    used = sum(k is not None and k is not Ellipsis for k in key)
    parts = []
    for k in key:
        parts += [slice(None)] * (x.ndim - used) if k is Ellipsis else [k]
    parts += [slice(None)] * (x.ndim - sum(p is not None for p in parts))
    starts, ends, axes, steps = [], [], [], []
    for axis, k in enumerate(p for p in parts if p is not None):
        n = x.shape[axis]
        if not isinstance(k, slice):
            k = int(k) % n
            k = slice(k, k + 1)
        start, stop, step = k.indices(n)
        if (start, stop, step) == (0, n, 1):
            continue
        starts.append(start)
        ends.append(stop if stop >= 0 else -n - 1)   # a negative step running past index 0
        axes.append(axis)
        steps.append(step)
    y = g.value(x)
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    return g.node("Reshape", [y, g.ints(out.shape)])


def convert_cat(g, fn, inputs, out):
    return g.node("Concat", [g.value(t) for t in inputs], axis=fn.axis)


def convert_constant_pad(g, fn, inputs, out):
    x, = inputs
    pads = [a for a, _ in fn.pads] + [b for _, b in fn.pads]
    return g.node("Pad", [g.value(x), g.ints(pads), g.scalar(fn.value, x)], mode="constant")


def convert_edge_pad(g, fn, inputs, out):
    x, = inputs
    n, before = x.shape[fn.axis], fn.before
    after = len(fn.index) - n - before
    for mode, onnx_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        if np.array_equal(np.asarray(fn.index), pad._index(mode, n, before, after)):
            break
    else:
        raise ExportError("an EdgePad that is not reflect, replicate or circular padding")
    if onnx_mode == "wrap" and g.opset < 19:
        raise ExportError(f"circular padding needs ONNX Pad mode 'wrap', which needs opset 19 (asked: {g.opset})")
    pads = [0] * (2 * x.ndim)
    pads[fn.axis], pads[x.ndim + fn.axis] = before, after
    return g.node("Pad", [g.value(x), g.ints(pads)], mode=onnx_mode)


def convert_standardize(g, fn, inputs, out):
    """(x - mean) / sqrt(var + eps) over fn.axes (layer, group and instance norm in eval mode)."""
    x, = inputs
    axes = list(fn.axes)
    d = g.node("Sub", [g.value(x), g.reduce("ReduceMean", g.value(x), axes, True)])
    var = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes, True)
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, g.scalar(fn.eps, x)])])])


def convert_softshrink(g, fn, inputs, out):
    return g.node("Shrink", [g.value(inputs[0])], lambd=float(fn.lambd), bias=float(fn.lambd))


FUNCTIONS = {
    ew.Add: _same("Add"), ew.Sub: _same("Sub"), ew.Mul: _same("Mul"), ew.Div: _same("Div"), ew.Pow: _same("Pow"),
    ew.Neg: _same("Neg"), ew.Exp: _same("Exp"), ew.Log: _same("Log"), ew.Sqrt: _same("Sqrt"), ew.Abs: _same("Abs"),
    ew.Sin: _same("Sin"), ew.Cos: _same("Cos"), ew.Tanh: _same("Tanh"), ew.Sigmoid: _same("Sigmoid"),
    ew.ReLU: _same("Relu"), ew.Maximum: _same("Max"), ew.Minimum: _same("Min"), ew.Clamp: convert_clamp,
    ew.Where: convert_where, ew.Cast: convert_cast, ew.Clone: convert_identity, ew.ToDevice: convert_identity,
    activation.Erf: _same("Erf"), activation.Softplus: _same("Softplus"), activation.Softshrink: convert_softshrink,
    linalg.MatMul: _same("MatMul"), conv.Conv2d: convert_conv2d,
    pool.MaxPool2d: convert_max_pool2d, pool.AvgPool2d: convert_avg_pool2d,
    pool.AdaptiveMaxPool2d: convert_adaptive_max_pool2d,
    reduce.Sum: convert_sum, reduce.Amax: convert_amax, reduce.Softmax: convert_softmax,
    reduce.LogSoftmax: convert_log_softmax, normalization.Standardize: convert_standardize,
    shape.Reshape: convert_reshape, shape.Permute: convert_permute, shape.Expand: convert_expand,
    shape.GetItem: convert_getitem, shape.Cat: convert_cat,
    pad.ConstantPad: convert_constant_pad, pad.EdgePad: convert_edge_pad,
}


# --------------------------------------------------------------------------------------- nn layers

def convert_linear(g, m, x, out):
    args = [g.value(x), g.value(m.weight)] + ([g.value(m.bias)] if m.bias is not None else [])
    return g.node("Gemm", args, transB=1)


def convert_batch_norm(g, m, x, out):
    C = x.shape[1]
    scale = g.value(m.weight) if m.weight is not None else g.const(np.ones(C, x.dtype))
    bias = g.value(m.bias) if m.bias is not None else g.const(np.zeros(C, x.dtype))
    return g.node("BatchNormalization", [g.value(x), scale, bias, g.value(m.running_mean), g.value(m.running_var)],
                  epsilon=float(m.eps))


def convert_lrn(g, m, x, out):
    return g.node("LRN", [g.value(x)], size=int(m.size), alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))


def convert_dropout(g, m, x, out):
    return g.node("Dropout", [g.value(x), g.scalar(m.p, x)])


def _clip(lo, hi):
    def convert(g, m, x, out):
        low, high = (m.min_val, m.max_val) if lo is None else (lo, hi)
        return g.node("Clip", [g.value(x), g.scalar(low, x), g.scalar(high, x)])
    return convert


def convert_hardswish(g, m, x, out):
    return g.node("HardSwish", [g.value(x)])


def convert_hardsigmoid(g, m, x, out):
    return g.node("HardSigmoid", [g.value(x)], alpha=1.0 / 6.0, beta=0.5)


def convert_leaky_relu(g, m, x, out):
    return g.node("LeakyRelu", [g.value(x)], alpha=float(m.negative_slope))


def convert_elu(g, m, x, out):
    return g.node("Elu", [g.value(x)], alpha=float(m.alpha))


def convert_global_avg_pool(g, m, x, out):
    return g.node("GlobalAveragePool", [g.value(x)])


def convert_flatten(g, m, x, out):
    return g.node("Flatten", [g.value(x)], axis=1)


def _always(m, x):
    return True


def _eval_batch_norm(m, x):
    return not m.training and m.running_mean is not None and x.ndim >= 2


def _global_pool(m, x):
    size = m.output_size
    return x.ndim == 4 and (size == 1 or tuple(size) == (1, 1) if not isinstance(size, int) else size == 1)


def _flatten_to_2d(m, x):
    return m.start_dim == 1 and m.end_dim in (-1, x.ndim - 1) and x.ndim >= 2


MODULES = {
    nn.Linear: (lambda m, x: x.ndim == 2, convert_linear),
    nn.BatchNorm1d: (_eval_batch_norm, convert_batch_norm), nn.BatchNorm2d: (_eval_batch_norm, convert_batch_norm),
    nn.LocalResponseNorm: (lambda m, x: x.ndim == 4, convert_lrn),
    nn.Dropout: (lambda m, x: not m.training, convert_dropout),
    nn.Dropout2d: (lambda m, x: not m.training, convert_dropout),
    nn.ReLU6: (_always, _clip(0.0, 6.0)), nn.Hardtanh: (_always, _clip(None, None)),
    nn.Hardswish: (_always, convert_hardswish), nn.Hardsigmoid: (_always, convert_hardsigmoid),
    nn.LeakyReLU: (_always, convert_leaky_relu), nn.ELU: (_always, convert_elu),
    nn.AdaptiveAvgPool2d: (_global_pool, convert_global_avg_pool),
    nn.Flatten: (_flatten_to_2d, convert_flatten),
}
