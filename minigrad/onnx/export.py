"""The exporter: record one forward pass, map what ran to ONNX nodes (converters.py), write the file."""
from __future__ import annotations

from ..autograd import enable_grad
from ..autograd.engine import trace_functions
from ..tensor import Tensor
from . import converters
from .graph import ExportError, Graph, import_onnx

OPSETS = range(14, 22)     # HardSwish needs 14; checked up to 21


class _Tracer:
    """Sees every Function the engine applies and every module call; converts those that read the input."""

    def __init__(self, graph, functions, modules):
        self.g, self.functions, self.modules = graph, functions, modules
        self.frames = []     # per module call: its converter, or None
        self.suppress = 0    # > 0 inside a module converted as a whole

    def function(self, fn, inputs, out):
        if self.suppress or not any(self.g.is_live(t) for t in inputs):
            return           # inside a converted module, or a constant (folded into an initializer)
        convert = self.functions.get(type(fn))
        if convert is None:
            raise ExportError(f"no ONNX converter for the op {type(fn).__name__} ({type(fn).__module__}); "
                              f"the exporter converts: {', '.join(sorted(c.__name__ for c in self.functions))}")
        self.g.bind(out, convert(self.g, fn, inputs, out))

    def pre_hook(self, module, args):
        conv = None if self.suppress else self.modules.get(type(module))
        if conv is not None and not (len(args) == 1 and self.g.is_live(args[0]) and conv[0](module, args[0])):
            conv = None
        self.frames.append(conv)
        self.suppress += conv is not None

    def post_hook(self, module, args, out):
        conv = self.frames.pop()
        if conv is not None:
            self.suppress -= 1
            if not isinstance(out, Tensor):
                raise ExportError(f"{type(module).__name__} returned {type(out).__name__}, expected a Tensor")
            self.g.bind(out, conv[1](self.g, module, args[0], out))


def _outputs(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
        return list(out)
    raise ExportError(f"the model returned {type(out).__name__}; the exporter writes a Tensor or a tuple of Tensors")


def export(model, example_input, path, opset=17, *, input_name="input", output_names=None):
    """Write ``model`` (a ``minigrad.nn.Module``) as an ONNX file at ``path`` (atomically) and return the
    ``onnx.ModelProto``. The model runs once in eval mode on ``example_input`` (a Tensor with the batch
    dimension; its shape is fixed in the file); each op it applies becomes ONNX nodes, the parameters
    and buffers initializers named by their state-dict keys. Raises :class:`ExportError` naming an op
    that has no converter. Differs from ``torch.onnx.export``: one input, no dynamic axes, opsets 14-21."""
    from ..serialization import _atomic_write
    onnx = import_onnx()
    if opset not in OPSETS:
        raise ValueError(f"opset must be in {OPSETS.start}..{OPSETS.stop - 1}, got {opset}")
    if not isinstance(example_input, Tensor):
        raise TypeError(f"example_input must be a minigrad Tensor, got {type(example_input).__name__}")
    names = {id(t): k for k, t in list(model.named_parameters()) + list(model.named_buffers())}
    g = Graph(onnx, opset, names)
    tracer = _Tracer(g, converters.FUNCTIONS, converters.MODULES)
    x = example_input.detach().clone()
    if x.dtype.kind == "f":
        x.requires_grad_(True)       # a recorded forward: in-place shortcuts (inplace=True) are not taken
    g.bind(x, input_name)
    modules = list(model.modules())
    handles = [m.register_forward_pre_hook(tracer.pre_hook) for m in modules]
    handles += [m.register_forward_hook(tracer.post_hook) for m in modules]
    was_training = [m.training for m in modules]
    model.eval()
    try:
        with enable_grad(), trace_functions(tracer.function):
            outs = _outputs(model(x))
    finally:
        for h in handles:
            h.remove()
        for m, mode in zip(modules, was_training):
            m.training = mode
    output_names = list(output_names or (["output"] if len(outs) == 1 else [f"output{i}" for i in range(len(outs))]))
    if len(output_names) != len(outs):
        raise ValueError(f"output_names has {len(output_names)} names for the model's {len(outs)} outputs")
    h = onnx.helper
    for o, name in zip(outs, output_names):
        if not g.is_live(o):
            raise ExportError(f"output {name} (shape {tuple(o.shape)}) does not depend on the input")
        g.nodes.append(h.make_node("Identity", [g.value(o)], [name], name=name))
    graph = h.make_graph(
        g.nodes, type(model).__name__,
        [h.make_tensor_value_info(input_name, g.elem_type(x.dtype), list(x.shape))],
        [h.make_tensor_value_info(n, g.elem_type(o.dtype), list(o.shape)) for o, n in zip(outs, output_names)],
        initializer=g.initializers)
    from .. import __version__
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], producer_name="minigrad",
                         producer_version=__version__)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    _atomic_write(path, lambda f: f.write(data))
    return proto
