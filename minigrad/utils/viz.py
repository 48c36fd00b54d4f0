"""Draw the autograd graph that produced a tensor: ``make_dot(loss, params=dict(model.named_parameters()))``.

The graph is written as Graphviz DOT text (``.source``), with data flowing from the leaf tensors (blue,
named from ``params``, with their shapes) through the Functions (grey, by name) to the output (green).
Rendering to SVG or PNG needs Graphviz's ``dot`` program; the ``graphviz`` Python package is used when it
is installed. In Jupyter the returned object shows itself as a picture. Leaves that do not require grad
(constants) have no edge in the graph and are not drawn, as in PyTorch.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

from ..autograd import Function
from ..tensor import Tensor

INSTALL_HINT = ("Graphviz's `dot` program is needed to render the graph (the DOT text is in .source): "
                "install it with `apt install graphviz` (Debian/Ubuntu), `conda install graphviz`, or "
                "`brew install graphviz` (macOS), then restart the kernel")

# attributes a Function always has; the rest of what it keeps are the values it saved for backward
_BOOKKEEPING = {"xp", "inputs", "versions", "out_version", "needs_input_grad", "next_functions", "meta",
                "output", "freed"}


class DotGraph:
    """DOT source with rendering: ``.source``, ``.pipe(format)`` -> bytes, ``.render(path)``; inline in
    Jupyter (SVG and PNG), or the DOT text and how to install Graphviz when ``dot`` is missing."""

    def __init__(self, source: str, n_nodes: int, n_edges: int):
        self.source, self.n_nodes, self.n_edges = source, n_nodes, n_edges

    def pipe(self, format: str = "svg") -> bytes:
        """The rendered graph as bytes (``format``: 'svg', 'png', 'pdf', ...)."""
        if shutil.which("dot") is None:
            raise RuntimeError(INSTALL_HINT)
        try:
            import graphviz
        except ImportError:
            return subprocess.run(["dot", "-T" + format], input=self.source.encode(), capture_output=True,
                                  check=True).stdout
        return graphviz.Source(self.source).pipe(format=format)

    def render(self, path: str, format: str | None = None) -> str:
        """Write the picture to ``path`` (format from its extension unless given); returns ``path``."""
        import os
        fmt = format or os.path.splitext(path)[1].lstrip(".") or "svg"
        data = self.pipe(fmt)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return path

    def _repr_mimebundle_(self, include=None, exclude=None):
        if shutil.which("dot") is None:
            return {"text/plain": INSTALL_HINT + "\n\n" + self.source}
        return {"image/svg+xml": self.pipe("svg").decode(), "image/png": self.pipe("png"),
                "text/plain": repr(self)}

    def __repr__(self):
        return f"<DotGraph: {self.n_nodes} nodes, {self.n_edges} edges>"


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _saved(fn):
    """(name, shape) of each array or Tensor that ``fn`` keeps for its backward."""
    out = []
    if getattr(fn, "inputs", ()):
        out += [(f"input {i}", t.shape) for i, t in enumerate(fn.inputs)]
    for k, v in sorted(vars(fn).items()):
        if k in _BOOKKEEPING:
            continue
        if isinstance(v, Tensor) or (hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, np.dtype)):
            out.append(("output" if k == "out_array" else k, v.shape))
    return out


def make_dot(output, params=None, show_saved=False) -> DotGraph:
    """The graph that produced ``output`` (a Tensor or a sequence of them) as a :class:`DotGraph`.

    ``params`` maps names to tensors (``dict(model.named_parameters())``, or ``{"x": x}``); those leaves
    are labelled with their names. ``show_saved=True`` adds, for every Function, the tensors it saved for
    backward (orange, dashed). One node per tensor or Function: an input used twice is one node with two
    edges, and a Function whose output is used twice has two edges out.
    """
    outputs = (output,) if isinstance(output, Tensor) else tuple(output)
    for o in outputs:
        if not isinstance(o, Tensor):
            raise TypeError(f"make_dot expects a Tensor or a sequence of Tensors, got {type(o).__name__}")
    names = {}
    for name, t in (params or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dot: params[{name!r}] should be a Tensor, got {type(t).__name__}")
        names[id(t)] = name

    ids, lines, edges = {}, [], []

    def node(obj, label, style):
        key = obj if isinstance(obj, tuple) else id(obj)     # tuples name nodes that are not objects
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            lines.append(f"  {ids[key]} [label={_quote(label)}, {style}]")
        return ids[key]

    def leaf(t):
        label = _shape(t.shape) if id(t) not in names else f"{names[id(t)]}\n{_shape(t.shape)}"
        return node(t, label, 'fillcolor="lightblue"')

    stack, seen = [], set()
    for i, o in enumerate(outputs):
        label = names.get(id(o), "output" if len(outputs) == 1 else f"output {i}")
        if o.grad_fn is None:         # a leaf itself: the graph is one node
            node(o, f"{label}\n{_shape(o.shape)}", 'fillcolor="lightblue"')
            continue
        out = node(("out", id(o)), f"{label}\n{_shape(o.shape)}", 'fillcolor="darkolivegreen1"')
        edges.append((node(o.grad_fn, o.grad_fn.name(), 'fillcolor="grey85"'), out, ""))
        stack.append(o.grad_fn)
    while stack:                      # iterative: deep graphs do not hit the recursion limit
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        me = ids[id(fn)]
        for nxt in fn.next_functions:
            if isinstance(nxt, Function):
                edges.append((node(nxt, nxt.name(), 'fillcolor="grey85"'), me, ""))
                stack.append(nxt)
            elif isinstance(nxt, Tensor):
                edges.append((leaf(nxt), me, ""))
        if show_saved:
            for k, (what, shape) in enumerate(_saved(fn)):
                saved = node(("saved", id(fn), k), f"saved {what}\n{_shape(shape)}", 'fillcolor="orange"')
                edges.append((saved, me, ' [style="dashed"]'))

    body = [f"  {a} -> {b}{extra}" for a, b, extra in edges]
    source = "\n".join(["digraph minigrad {",
                        '  graph [rankdir="TB"]',
                        '  node [shape="box", style="filled", fontname="monospace", fontsize="11"]',
                        *lines, *body, "}"]) + "\n"
    return DotGraph(source, len(ids), len(edges))
