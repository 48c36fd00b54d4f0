"""The README's code is true: its training loop runs, and its first lines hold the two commands."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def _block_after(marker):
    i = README.index(marker)
    m = re.search(r"```python\n(.*?)```", README[i:], re.S)
    return m.group(1)


def test_readme_opens_with_the_two_fresh_machine_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)[:2]
    assert "python -m minigrad train lenet5" in blocks[0] and blocks[0].startswith("pip install")
    assert "python -m pytest" in blocks[1] and "torch==2.13.0" in blocks[1]
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    assert "grep -m1 -E '^pip install .*pytest' README.md" in ci   # CI runs exactly this line


def test_readme_training_loop_runs():
    pytest.importorskip("mlxtend")
    code = _block_after("readme-training-loop")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    losses = [float(v) for v in re.findall(r"mean loss ([0-9.]+)", out.stdout)]
    assert len(losses) == 2 and losses[1] < losses[0] and losses[1] < 0.5, out.stdout


def test_readme_adding_an_op_example_runs_and_is_the_code_in_ops():
    import inspect
    from minigrad.ops import activation
    code = _block_after("readme-adding-an-op")
    exec(compile(code, "README.md", "exec"), {})          # its own gradcheck assert runs here
    shown = [line.split("#")[0].rstrip() for line in code.splitlines()]
    for line in inspect.getsource(activation.Softshrink).splitlines():
        assert line.split("#")[0].rstrip() in shown, f"the README's Softshrink differs from ops: {line!r}"
