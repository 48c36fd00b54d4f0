"""The import graph of minigrad/ and kernels/: a tree (a DAG) plus the one declared Tensor <-> ops link.

Every import statement counts, at the top of a file or inside a function. tensor.py reaches the ops and
the engine (its operator methods, ``backward``) through one import at its bottom, marked ``# the link``;
without that statement the graph must have no cycle. kernels/ imports nothing from minigrad.
"""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = "# the link"


def _modules():
    """{dotted name: path} for minigrad/ and kernels/ (kernels is installed as minigrad.kernels)."""
    found = {}
    for top, prefix in (("minigrad", "minigrad"), ("kernels", "minigrad.kernels")):
        base = os.path.join(ROOT, top)
        for folder, _, files in os.walk(base):
            for f in files:
                if f.endswith(".py"):
                    rel = os.path.relpath(os.path.join(folder, f), base)[:-3].replace(os.sep, ".")
                    name = prefix if rel == "__init__" else f"{prefix}.{rel.removesuffix('.__init__')}"
                    found[name] = os.path.join(folder, f)
    return found


def _graph():
    modules = _modules()
    edges, link_edges = {m: set() for m in modules}, set()
    for name, path in modules.items():
        source = open(path, encoding="utf-8").read()
        lines = source.splitlines()
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t in modules and t != name:
                    edges[name].add(t)
                    if LINK in lines[node.lineno - 1]:
                        link_edges.add((name, t))
    return modules, edges, link_edges


def _cycle(edges):
    """One cycle as a list of modules, or None (iterative depth-first search)."""
    state = {}
    for start in edges:
        if start in state:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        state[start], path = 1, [start]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if state.get(nxt) == 1:
                    return path[path.index(nxt):] + [nxt]
                if nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, iter(sorted(edges[nxt]))))
                    break
            else:
                state[node] = 2
                path.pop()
                stack.pop()
    return None


def test_the_import_graph_is_a_tree_plus_the_declared_tensor_ops_link():
    modules, edges, link = _graph()
    assert link and {src for src, _ in link} == {"minigrad.tensor"}, link
    for src, dst in link:
        edges[src].discard(dst)
    cycle = _cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_kernels_import_nothing_from_minigrad():
    modules, edges, _ = _graph()
    for name in modules:
        if name.startswith("minigrad.kernels"):
            outside = {t for t in edges[name] if not t.startswith("minigrad.kernels")}
            assert not outside, f"{name} imports {outside}"


def _imports_cupy(path):
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        if any(n.split(".")[0] in ("cupy", "cupyx") for n in names):
            return True
    return False


def test_only_the_modules_the_readme_names_import_cupy_and_importing_minigrad_loads_none():
    """README, Layout: backend.py (computes with it), kernels/gpu.py (when handed a CuPy array) and
    testing/cuda_sim.py (CuPy's API lists) import CuPy; importing minigrad and running an op on the CPU import none."""
    import subprocess
    import sys
    import tempfile
    found = {name for name, path in _modules().items() if _imports_cupy(path)}
    assert found == {"minigrad.backend", "minigrad.kernels.gpu", "minigrad.testing.cuda_sim"}, found
    with tempfile.TemporaryDirectory() as fake:        # a CuPy that says when it is imported
        os.makedirs(os.path.join(fake, "cupy"))
        with open(os.path.join(fake, "cupy", "__init__.py"), "w") as f:
            f.write("raise SystemExit('cupy was imported')\n")
        env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_SIMULATE_CUDA"}
        env["PYTHONPATH"] = os.pathsep.join([ROOT, fake])
        code = ("import minigrad, minigrad.nn, minigrad.optim, minigrad.models, minigrad.utils.data, sys; "
                "minigrad.nn.functional.conv2d(minigrad.ones(1, 1, 3, 3), minigrad.ones(1, 1, 2, 2)); "
                "assert 'cupy' not in sys.modules; print('ok')")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
