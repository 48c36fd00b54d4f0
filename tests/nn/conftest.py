import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # nn tests import their parity helper as `nn_helpers`

# An editable install made from another checkout (a git worktree beside this one) maps minigrad.kernels to
# that checkout's kernels/; when this checkout's minigrad is the one imported, use this checkout's kernels/.
_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_kernels = os.path.join(_root, "kernels")
if os.path.isdir(_kernels) and "minigrad.kernels" not in sys.modules:
    import minigrad
    _spec = importlib.util.find_spec("minigrad.kernels")
    _here = os.path.dirname(os.path.abspath(minigrad.__file__)) == os.path.join(_root, "minigrad")
    if _here and (_spec is None or os.path.dirname(_spec.origin or "") != _kernels):
        _spec = importlib.util.spec_from_file_location("minigrad.kernels", os.path.join(_kernels, "__init__.py"),
                                                       submodule_search_locations=[_kernels])
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules["minigrad.kernels"] = _mod
        _spec.loader.exec_module(_mod)
