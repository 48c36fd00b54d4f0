"""``minigrad.nn.functional`` (import as ``F``): the user-facing functional ops, PyTorch's names.

This file only gathers; each op is defined in ``minigrad.ops``.
"""
# -- core: activations and linear algebra (minigrad/ops/elementwise.py, reduce.py, linalg.py)
from ..ops import linear, log_softmax, relu, sigmoid, softmax, tanh

# -- convolution and pooling (minigrad/ops/conv.py, pool.py, pad.py, lrn.py, dropout.py)
from ..ops.conv import conv2d, conv_transpose2d, fold, get_im2col_budget, set_im2col_budget, unfold
from ..ops.dropout import dropout, dropout2d
from ..ops.lrn import local_response_norm
from ..ops.pad import pad
from ..ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
