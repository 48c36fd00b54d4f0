"""make_dot: the DOT text of known graphs (nodes, edges, labels) and rendering with and without `dot`."""
import re
import shutil

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.autograd import grad
from minigrad.utils import viz
from minigrad.utils.viz import make_dot


def parse(source):
    """{node id: label} and the list of (tail label, head label) edges of a DOT text."""
    nodes = dict(re.findall(r'^\s+(n\d+) \[label="((?:[^"\\]|\\.)*)"', source, re.M))
    edges = [(nodes[a], nodes[b]) for a, b in re.findall(r"^\s+(n\d+) -> (n\d+)", source, re.M)]
    return nodes, edges


def scalars(*values):
    return [minigrad.tensor(v, requires_grad=True) for v in values]


def test_circuit_nodes_edges_and_labels():
    x, y, z = scalars(-2.0, 5.0, -4.0)
    f = (x + y) * z
    g = make_dot(f, params={"x": x, "y": y, "z": z})
    nodes, edges = parse(g.source)
    assert sorted(nodes.values()) == sorted(["x\\n()", "y\\n()", "z\\n()", "AddBackward", "MulBackward",
                                             "output\\n()"])
    assert sorted(edges) == sorted([("x\\n()", "AddBackward"), ("y\\n()", "AddBackward"),
                                    ("AddBackward", "MulBackward"), ("z\\n()", "MulBackward"),
                                    ("MulBackward", "output\\n()")])
    assert (g.n_nodes, g.n_edges) == (6, 5)


def test_unnamed_leaves_show_shapes_and_constants_are_left_out():
    a = minigrad.randn(2, 3, requires_grad=True)
    c = minigrad.randn(2, 3)                     # no grad: not part of the graph
    nodes, edges = parse(make_dot((a * c).sum()).source)
    assert sorted(nodes.values()) == sorted(["(2, 3)", "MulBackward", "SumBackward", "output\\n()"])
    assert len(edges) == 3


def test_shared_input_is_one_node_with_two_edges():
    a, b = scalars(2.0, 3.0)
    out = a * b + a                              # a fans out to Mul and Add
    nodes, edges = parse(make_dot(out, params={"a": a, "b": b}).source)
    assert list(nodes.values()).count("a\\n()") == 1
    assert sorted(h for t, h in edges if t == "a\\n()") == ["AddBackward", "MulBackward"]
    # the same tensor twice in one op (x * x) is one node with two edges into the op
    x, = scalars(3.0)
    nodes, edges = parse(make_dot(x * x, params={"x": x}).source)
    assert edges.count(("x\\n()", "MulBackward")) == 2 and len(nodes) == 3


def test_residual_block_names_parameters_and_the_skip_edge():
    minigrad.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1))
    x = minigrad.randn(1, 2, 5, 5, requires_grad=True)
    out = (body(x) + x).relu()
    nodes, edges = parse(make_dot(out, params={**dict(body.named_parameters()), "x": x}).source)
    labels = sorted(nodes.values())
    for name, shape in [("0.weight", "(2, 2, 3, 3)"), ("0.bias", "(2)"), ("2.weight", "(2, 2, 3, 3)"),
                        ("2.bias", "(2)"), ("x", "(1, 2, 5, 5)")]:
        assert f"{name}\\n{shape}" in labels
    assert labels.count("Conv2dBackward") == 2 and labels.count("ReLUBackward") == 2
    # the skip connection: x goes into the first convolution and straight into the addition
    assert sorted(h for t, h in edges if t == "x\\n(1, 2, 5, 5)") == ["AddBackward", "Conv2dBackward"]
    # output, 2 ReLU, Add, 2 Conv, x, 4 parameters; each node but the output feeds one edge, x feeds two
    assert len(nodes) == 11 and len(edges) == 11


def test_second_derivative_graph_from_create_graph():
    x = minigrad.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    (d1,) = grad(x.tanh().sum(), x, create_graph=True)        # d1 = (1 - tanh(x)^2) * 1
    nodes, edges = parse(make_dot(d1, params={"x": x}).source)
    labels = list(nodes.values())
    assert "TanhBackward" in labels and "x\\n(3)" in labels and "output\\n(3)" in labels
    assert ("x\\n(3)", "TanhBackward") in edges
    # the gradient graph is differentiable: its derivative is tanh''
    (d2,) = grad(d1.sum(), x)
    t = np.tanh(x.detach().numpy())
    assert np.allclose(d2.numpy(), -2 * t * (1 - t ** 2))


def test_saved_tensors_optional_and_graph_drawable_after_backward():
    x, = scalars(0.5)
    y = x.tanh() * x
    plain = make_dot(y)
    with_saved = make_dot(y, show_saved=True)
    assert "saved" not in plain.source
    nodes, edges = parse(with_saved.source)
    saved = [lab for lab in nodes.values() if lab.startswith("saved")]
    assert "saved output\\n()" in saved                      # tanh keeps its output
    assert saved.count("saved input 0\\n()") == 1 and "saved input 1\\n()" in saved   # Mul keeps both
    assert 'style="dashed"' in with_saved.source
    y.backward()                                            # saved values freed, edges kept
    assert parse(make_dot(y).source) == parse(plain.source)


def test_deep_chain_does_not_recurse():
    x, = scalars(1.0)
    y = x
    for _ in range(3000):
        y = y * 1.0
    g = make_dot(y)
    assert (g.n_nodes, g.n_edges) == (3002, 3001)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Tensor"):
        make_dot([1.0])
    x, = scalars(1.0)
    with pytest.raises(TypeError, match=r"params\['w'\]"):
        make_dot(x * 2, params={"w": 3.0})


def test_without_dot_a_clear_message(monkeypatch):
    x, = scalars(1.0)
    g = make_dot(x * 2)
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz.*conda install graphviz.*brew install"):
        g.pipe("png")
    bundle = g._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and "apt install graphviz" in bundle["text/plain"]
    assert "digraph" in bundle["text/plain"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_renders_png_and_svg(tmp_path):
    x, y = scalars(1.0, 2.0)
    g = make_dot(x * y + x, params={"x": x, "y": y})
    assert g.pipe("png").startswith(b"\x89PNG")
    bundle = g._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG") and "<svg" in bundle["image/svg+xml"]
    path = g.render(str(tmp_path / "graph.svg"))
    assert open(path).read().count("<g id=\"node") == 5


def test_readme_example_and_its_committed_picture_agree():
    """The README's make_dot block runs, and docs/make_dot_circuit.svg shows the graph it builds."""
    import html
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    block = re.search(r"```python\n(import minigrad\nfrom minigrad.utils import make_dot\n.*?)```", readme, re.S)
    scope = {}
    exec(block.group(1).replace("print(graph.source)", "pass"), scope)
    labels = sorted(label.replace("\\n", " ") for label in parse(scope["graph"].source)[0].values())
    svg = open(os.path.join(root, "docs", "make_dot_circuit.svg"), encoding="utf-8").read()
    texts = re.findall(r"<g id=\"node\d+\" class=\"node\">.*?</g>", svg, re.S)
    drawn = sorted(" ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", g)) for g in texts)
    assert drawn == labels
