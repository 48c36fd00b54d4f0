"""``minigrad.nn.functional`` (import as ``F``): the user-facing functional ops, PyTorch's names.

This file only gathers; each op is defined in ``minigrad.ops``.
"""
# -- core: activations and linear algebra (minigrad/ops/elementwise.py, reduce.py, linalg.py)
from ..ops import linear, log_softmax, relu, sigmoid, softmax, tanh
