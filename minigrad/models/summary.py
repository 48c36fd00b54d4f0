"""``minigrad.summary(model, input_size)``: each layer's output shape, parameters and multiply-adds.

One forward pass (batch 1 by default, eval mode, no autograd graph) with a forward hook on every module.
A row is written for every call of a leaf module (one with no children) and of any module that owns
parameters directly; a module called twice (a shared ReLU) gets two rows, its parameters counted once.

Multiply-adds (MACs) are counted for the layers that do the arithmetic, bias additions excluded:
  Conv2d   N * OH * OW * C_out * (C_in / groups) * KH * KW
  Linear   (elements of the output) * in_features
  any module with a ``macs(inputs, output)`` method: what it returns (LeNet-5's C3, S2/S4, RBF)
  all other layers (BatchNorm, pooling, activations, LRN, dropout, the element-wise residual additions and
  SE scalings done in ``forward`` code): 0. These are the conventions behind the published numbers
  (AlexNet 0.71 G, VGG-16 15.5 G, ResNet-50 4.09 G, EfficientNet-B0 0.39 G).
Activation memory is the bytes of every recorded layer output of that one forward pass (what training
would keep for backward, roughly), plus the input.
"""
import minigrad

from .. import nn


class Row:
    """One layer call: ``name`` (dotted path), ``type``, ``output_shape``, ``params`` (all the layer's own
    parameters, trainable or not; 0 on a repeated call), ``trainable``, ``macs``, ``output_bytes``."""
    __slots__ = ("name", "type", "output_shape", "params", "trainable", "macs", "output_bytes")

    def __init__(self, name, type, output_shape, params, trainable, macs, output_bytes):
        self.name, self.type, self.output_shape = name, type, output_shape
        self.params, self.trainable, self.macs, self.output_bytes = params, trainable, macs, output_bytes

    def __repr__(self):
        return (f"Row({self.name!r}, {self.type}, {self.output_shape}, params={self.params}, "
                f"trainable={self.trainable}, macs={self.macs})")


class Summary:
    """The result of ``summary``: ``rows`` plus totals; ``str()`` is the table."""

    def __init__(self, model_name, input_shape, rows, total_params, trainable_params, param_bytes, input_bytes):
        self.model_name, self.input_shape, self.rows = model_name, input_shape, rows
        self.total_params, self.trainable_params = total_params, trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.total_macs = sum(r.macs for r in rows)
        self.activation_bytes = sum(r.output_bytes for r in rows)
        self.input_bytes, self.param_bytes = input_bytes, param_bytes

    def __getitem__(self, name):
        """The first row whose name is ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Params", "Trainable", "Mult-adds")
        body = [(f"{r.name} ({r.type})", _shape_str(r.output_shape), f"{r.params:,}", f"{r.trainable:,}",
                 f"{r.macs:,}") for r in self.rows]
        widths = [max(len(x[i]) for x in [head] + body) for i in range(5)]
        line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)   # noqa: E731
                                       for i, (c, w) in enumerate(zip(cells, widths)))
        rule = "=" * len(line(head))
        mb = 1024.0 ** 2
        called = sum(r.params for r in self.rows)
        out = [f"{self.model_name}, input {_shape_str(self.input_shape)}", rule, line(head), rule]
        out += [line(b) for b in body]
        out += [rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}"]
        if called != self.total_params:
            out.append(f"  (of which in layers not called by this forward: {self.total_params - called:,})")
        out += [f"Total mult-adds: {self.total_macs:,} ({self.total_macs / 1e9:.2f} G)",
                rule,
                f"Input size (MB): {self.input_bytes / mb:.2f}",
                f"Forward activations (MB): {self.activation_bytes / mb:.2f}",
                f"Params size (MB): {self.param_bytes / mb:.2f}",
                f"Estimated total size (MB): {(self.input_bytes + self.activation_bytes + self.param_bytes) / mb:.2f}",
                rule]
        return "\n".join(out)

    __repr__ = __str__


def _shape_str(shape):
    if shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_shape_str(s) for s in shape)
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _tensors(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return [out] if hasattr(out, "shape") and hasattr(out, "dtype") else []


def _nbytes(t):
    return int(t.numel()) * t.element_size()


def _own_parameters(module):
    try:
        return list(module.parameters(recurse=False))
    except TypeError:  # a Module without the recurse argument
        in_children = {id(p) for c in module.children() for p in c.parameters()}
        return [p for p in module.parameters() if id(p) not in in_children]


def _merge_rows(rows, depth, modules):
    """Group consecutive rows by the first ``depth`` parts of their names."""
    merged = []
    for r in rows:
        key = ".".join(r.name.split(".")[:depth])
        if merged and merged[-1].name == key and key != r.name:
            m = merged[-1]
            m.output_shape, m.params, m.trainable = r.output_shape, m.params + r.params, m.trainable + r.trainable
            m.macs, m.output_bytes = m.macs + r.macs, m.output_bytes + r.output_bytes
        elif key != r.name:
            merged.append(Row(key, type(modules.get(key)).__name__, r.output_shape, r.params, r.trainable,
                              r.macs, r.output_bytes))
        else:
            merged.append(r)
    return merged


def layer_macs(module, inputs, output):
    """Multiply-adds of one call of ``module`` (see the module docstring for the rules)."""
    custom = getattr(module, "macs", None)
    if callable(custom):
        return int(custom(inputs, output))
    if isinstance(module, nn.Conv2d):
        N, C_out, OH, OW = output.shape
        KH, KW = module.weight.shape[2:]
        return int(N * OH * OW * C_out * (module.in_channels // module.groups) * KH * KW)
    if isinstance(module, nn.Linear):
        return int(output.numel()) * module.in_features
    return 0


def summary(model, input_size=None, *, batch_size=1, input_data=None, dtype=None, device=None, mode="eval",
            depth=None):
    """Run one forward of ``model`` and tabulate every layer: name, type, output shape, params, mult-adds.

    ``input_size``: one sample's shape without the batch, e.g. (3, 224, 224); the input is ``batch_size``
    random samples of ``dtype`` (default float32) on ``device``. Or pass ``input_data`` (a Tensor or a tuple
    of Tensors) instead. ``mode``: "eval" (default: BatchNorm uses running statistics, dropout is off, so a
    batch of one works) or "train"; the model's own mode is restored afterwards.
    Returns a ``Summary``: ``str()`` is the table; ``total_params``, ``trainable_params``, ``total_macs``,
    ``activation_bytes`` and ``rows`` (``name``, ``type``, ``output_shape``, ``params``, ``trainable``,
    ``macs``) carry the numbers. ``depth=d`` merges the rows below the d-th level of the module tree into
    one row per module at that level (summed params and mult-adds, the output shape of its last call), e.g.
    ``depth=1`` gives one row per stage of a ResNet; the totals do not change.
    """
    if input_data is None:
        if input_size is None:
            raise ValueError("summary needs input_size (one sample's shape, e.g. (3, 224, 224)) or input_data")
        input_data = minigrad.randn(batch_size, *tuple(input_size), dtype=dtype or minigrad.float32,
                                    device=device or "cpu")
    inputs = input_data if isinstance(input_data, (tuple, list)) else (input_data,)
    if mode not in ("eval", "train"):
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")

    names = {id(m): n for n, m in model.named_modules()}
    rows, seen, handles = [], set(), []

    def hook(module, inp, out):
        outs = _tensors(out)
        shapes = [tuple(int(d) for d in t.shape) for t in outs]
        own = _own_parameters(module) if id(module) not in seen else []
        seen.add(id(module))
        params = sum(int(p.numel()) for p in own)
        trainable = sum(int(p.numel()) for p in own if p.requires_grad)
        macs = layer_macs(module, inp, outs[0]) if outs else 0
        rows.append(Row(names.get(id(module)) or type(module).__name__, type(module).__name__,
                        shapes[0] if len(shapes) == 1 else tuple(shapes), params, trainable, macs,
                        sum(_nbytes(t) for t in outs)))

    for name, m in model.named_modules():
        is_leaf = next(iter(m.children()), None) is None
        if is_leaf or _own_parameters(m) or callable(getattr(m, "macs", None)):
            handles.append(m.register_forward_hook(hook))

    modes = [(m, m.training) for m in model.modules()]  # restored one by one (a frozen BN may be in eval)
    model.train(mode == "train")
    try:
        with minigrad.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:
            m.training = training

    if depth is not None:
        rows = _merge_rows(rows, depth, dict(model.named_modules()))
    params = list(model.parameters())
    total = sum(int(p.numel()) for p in params)
    trainable = sum(int(p.numel()) for p in params if p.requires_grad)
    param_bytes = sum(_nbytes(p) for p in params)
    input_shape = tuple(int(d) for d in inputs[0].shape) if len(inputs) == 1 else \
        tuple(tuple(int(d) for d in t.shape) for t in inputs)
    return Summary(type(model).__name__, input_shape, rows, total, trainable, param_bytes,
                   sum(_nbytes(t) for t in inputs))
