"""The im2col budget holds for any layer: a sample whose columns alone exceed it runs in blocks of output
rows, each block a convolution over the input rows it reads, with the same results as one big im2col."""
import tracemalloc

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from helpers import requires_torch, torch

# (C, O, groups, H, W, kernel, stride, padding, dilation): strides, dilation, groups, padding beyond the
# kernel (blocks that read padding only), and rows that the last windows never reach
LAYERS = [(4, 6, 2, 13, 11, 3, 2, 1, 1), (3, 4, 1, 9, 10, 5, 1, 4, 2), (2, 2, 1, 7, 7, 3, 3, 0, 1),
          (4, 8, 4, 12, 9, 3, 1, 2, 2), (1, 3, 1, 10, 6, 1, 2, 1, 1)]


@requires_torch
@pytest.mark.parametrize("budget", [1, 300, 2000])
@pytest.mark.parametrize("layer", LAYERS)
def test_row_blocks_give_pytorchs_conv_and_gradients(layer, budget):
    C, O, G, H, W, K, S, P, D = layer
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, C, H, W)), rng.standard_normal((O, C // G, K, K))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=S, padding=P, dilation=D, groups=G)
    v = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(v))
    old = F.set_im2col_budget(budget)
    try:
        xm, wm = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
        y = F.conv2d(xm, wm, stride=S, padding=P, dilation=D, groups=G)
        y.backward(minigrad.tensor(v))
    finally:
        F.set_im2col_budget(old)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), atol=1e-11)


def test_a_layer_needing_1_5_gb_of_columns_per_sample_stays_within_a_256_mib_budget():
    C, H = 16, 1600                        # 16 * 9 * 1600^2 * 4 bytes = 1.47 GB of columns for one sample
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((1, C, H, H), dtype=np.float32))
    w = minigrad.tensor(rng.standard_normal((C, C, 3, 3), dtype=np.float32))
    assert C * 9 * H * H * 4 > 1.4e9
    old = F.set_im2col_budget(256 * 2 ** 20)
    tracemalloc.start()
    try:
        y = F.conv2d(x, w, padding=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        F.set_im2col_budget(old)
    out_bytes = y.numel() * 4                              # 164 MB: the result itself
    # the result, one block's columns (the budget) and that block's input rows and GEMM output (~30 MB
    # each): a third of the 1.5 GB that one im2col of the sample would take
    assert peak < out_bytes + 1.5 * 256 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB"
    rows = F.conv2d(x[:, :, 799:803], w, padding=(0, 1))   # output rows 800 and 801, computed apart
    np.testing.assert_allclose(y[:, :, 800:802].numpy(), rows.numpy(), rtol=1e-4, atol=1e-3)
