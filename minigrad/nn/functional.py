"""``minigrad.nn.functional`` (import as ``F``): the user-facing functional ops, PyTorch's names.

This file only gathers; each op is defined in ``minigrad.ops``.
"""
# -- core: activations and linear algebra (minigrad/ops/elementwise.py, reduce.py, linalg.py)
from ..ops import linear, log_softmax, sigmoid, softmax, tanh

# -- nn: activations, normalisation, losses (minigrad/ops/activation.py, norm.py, loss.py)
from ..ops.activation import (elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu, logsigmoid, mish, relu,
                              relu6, silu, softmin, softplus, softshrink, softsign, tanhshrink, threshold)
from ..ops.embedding import embedding, one_hot
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                        kl_div, l1_loss, mse_loss, multi_margin_loss, nll_loss, smooth_l1_loss)
from ..ops.normalization import batch_norm, group_norm, instance_norm, layer_norm

# -- convolution and pooling (minigrad/ops/conv.py, pool.py, pad.py, lrn.py, dropout.py)
from ..ops.conv import conv2d, conv_transpose2d, fold, get_im2col_budget, set_im2col_budget, unfold
from ..ops.dropout import dropout, dropout2d
from ..ops.lrn import local_response_norm
from ..ops.pad import pad
from ..ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
