"""Kernels: the Numba (and, with a GPU, CuPy) kernels agree with the plain-loop oracle in reference.py,
and col2im is the adjoint of im2col."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad  # noqa: F401  (makes minigrad.kernels importable from a source checkout)
from minigrad import backend

backend.kernels(np.zeros(1))      # loads minigrad.kernels (installed, or the top-level kernels/)
from minigrad.kernels import cpu, reference  # noqa: E402

GPU = pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA GPU (or no CuPy)")


@st.composite
def geometries(draw, pool=False):
    """(x, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW) for a small random window geometry."""
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    SH, SW, DH, DW = (draw(st.integers(1, 3)) for _ in range(4))
    if pool:
        PH, PW = draw(st.integers(0, KH // 2)), draw(st.integers(0, KW // 2))
    else:
        PH, PW = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    lo_h, lo_w = max(1, DH * (KH - 1) + 1 - 2 * PH), max(1, DW * (KW - 1) + 1 - 2 * PW)
    H = draw(st.integers(lo_h, lo_h + 6))
    W = draw(st.integers(lo_w, lo_w + 20))   # OW >= 16 takes the wide-row path
    OH, OW = (H + 2 * PH - DH * (KH - 1) - 1) // SH + 1, (W + 2 * PW - DW * (KW - 1) - 1) // SW + 1
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 16))
    x = np.random.default_rng(seed).standard_normal((N, C, H, W))
    return x, (KH, KW, SH, SW, PH, PW, DH, DW), (OH, OW)


@settings(max_examples=40)
@given(geometries())
def test_im2col_col2im_match_reference(case):
    x, g, (OH, OW) = case
    col = reference.im2col(x, *g, OH, OW)
    np.testing.assert_array_equal(cpu.im2col(x, *g, OH, OW), col)
    np.testing.assert_array_equal(reference.im2col_slices(x, *g, OH, OW), col)
    c = np.random.default_rng(1).standard_normal(col.shape)
    H, W = x.shape[2:]
    gx = reference.col2im(c, H, W, *g[2:])
    np.testing.assert_allclose(cpu.col2im(c, H, W, *g[2:]), gx, atol=1e-12)
    np.testing.assert_allclose(reference.col2im_slices(c, H, W, *g[2:]), gx, atol=1e-12)
    # adjoint: <im2col(x), c> == <x, col2im(c)>
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, gx), rtol=1e-10, atol=1e-10)


def test_im2col_float32_and_out_buffer():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 17)).astype(np.float32)
    out = np.full((2, 3, 3, 3, 5, 17), 7, np.float32)
    col = cpu.im2col(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 17, out=out)
    assert col is out and col.dtype == np.float32
    np.testing.assert_array_equal(col, reference.im2col(x, 3, 3, 1, 1, 1, 1, 1, 1, 5, 17))


@settings(max_examples=40)
@given(geometries(pool=True))
def test_maxpool_kernels_match_reference(case):
    x, g, (OH, OW) = case
    y, idx = reference.maxpool2d_forward(x, *g, OH, OW)
    y2, idx2 = cpu.maxpool2d_forward(x, *g, OH, OW)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(idx2, idx)
    gy = np.random.default_rng(2).standard_normal(y.shape)
    H, W = x.shape[2:]
    gx = reference.maxpool2d_backward(gy, idx, H, W)
    np.testing.assert_allclose(cpu.maxpool2d_backward(gy, idx, H, W), gx, atol=1e-12)
    np.testing.assert_array_equal(cpu.maxpool2d_gather(gx, idx), reference.maxpool2d_gather(gx, idx))


def test_maxpool_ties_go_to_the_first_position():
    x = np.zeros((1, 1, 4, 4))
    y, idx = cpu.maxpool2d_forward(x, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2)
    np.testing.assert_array_equal(idx[0, 0], [[0, 1], [4, 5]])    # each window's top-left element
    gx = cpu.maxpool2d_backward(np.ones_like(y), idx, 4, 4)
    assert gx.sum() == 4 and gx[0, 0, 0, 0] == 1


@settings(max_examples=40)
@given(geometries(pool=True), st.booleans(), st.sampled_from([0, 0, 3]))
def test_avgpool_kernels_match_reference(case, count_include_pad, divisor):
    x, (KH, KW, SH, SW, PH, PW, _, _), _ = case
    H, W = x.shape[2:]
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    if OH < 1 or OW < 1:
        return
    args = (KH, KW, SH, SW, PH, PW)
    y = reference.avgpool2d_forward(x, *args, OH, OW, count_include_pad, divisor)
    np.testing.assert_allclose(cpu.avgpool2d_forward(x, *args, OH, OW, count_include_pad, divisor), y,
                               atol=1e-12)
    gy = np.random.default_rng(3).standard_normal(y.shape)
    gx = reference.avgpool2d_backward(gy, H, W, *args, count_include_pad, divisor)
    np.testing.assert_allclose(cpu.avgpool2d_backward(gy, H, W, *args, count_include_pad, divisor), gx,
                               atol=1e-12)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(x, gx), rtol=1e-10, atol=1e-10)


@settings(max_examples=25)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5), st.integers(0, 99))
def test_adaptive_maxpool_matches_reference(H, W, OH, OW, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, H, W))
    y, idx = reference.adaptive_maxpool2d_forward(x, OH, OW)
    y2, idx2 = cpu.adaptive_maxpool2d_forward(x, OH, OW)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(idx2, idx)


def test_kernels_run_without_jit():
    """NUMBA_DISABLE_JIT=1 turns the kernels into plain Python; they still agree with the oracle."""
    code = (
        "import numpy as np, minigrad; from minigrad import backend; backend.kernels(np.zeros(1));"
        "from minigrad.kernels import cpu, reference as r;"
        "x = np.random.default_rng(0).standard_normal((1, 2, 5, 6));"
        "assert (cpu.im2col(x, 3, 2, 2, 1, 1, 0, 1, 2, 3, 4) == r.im2col(x, 3, 2, 2, 1, 1, 0, 1, 2, 3, 4)).all();"
        "c = r.im2col(x, 3, 2, 2, 1, 1, 0, 1, 2, 3, 4);"
        "assert np.allclose(cpu.col2im(c, 5, 6, 2, 1, 1, 0, 1, 2), r.col2im(c, 5, 6, 2, 1, 1, 0, 1, 2));"
        "assert (cpu.maxpool2d_forward(x, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3)[1] =="
        " r.maxpool2d_forward(x, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3)[1]).all();"
        "assert np.allclose(cpu.avgpool2d_forward(x, 3, 3, 2, 2, 1, 1, 3, 3, False, 0),"
        " r.avgpool2d_forward(x, 3, 3, 2, 2, 1, 1, 3, 3, False, 0))")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


@GPU
@settings(max_examples=20)
@given(geometries(pool=True))
def test_gpu_kernels_match_cpu(case):
    import cupy as cp
    from minigrad.kernels import gpu
    x, g, (OH, OW) = case
    xg = cp.asarray(x)
    col = cpu.im2col(x, *g, OH, OW)
    np.testing.assert_array_equal(gpu.im2col(xg, *g, OH, OW).get(), col)
    H, W = x.shape[2:]
    np.testing.assert_allclose(gpu.col2im(cp.asarray(col), H, W, *g[2:]).get(), cpu.col2im(col, H, W, *g[2:]),
                               atol=1e-12)
    y, idx = cpu.maxpool2d_forward(x, *g, OH, OW)
    yg, idxg = gpu.maxpool2d_forward(xg, *g, OH, OW)
    np.testing.assert_array_equal(yg.get(), y)
    np.testing.assert_array_equal(idxg.get(), idx)
    gy = np.random.default_rng(0).standard_normal(y.shape)
    np.testing.assert_allclose(gpu.maxpool2d_backward(cp.asarray(gy), idxg, H, W).get(),
                               cpu.maxpool2d_backward(gy, idx, H, W), atol=1e-12)
    np.testing.assert_array_equal(gpu.maxpool2d_gather(xg, idxg).get(), cpu.maxpool2d_gather(x, idx))
    KH, KW, SH, SW, PH, PW = g[:6]
    OH2, OW2 = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    for cip, div in ((True, 0), (False, 0), (True, 3)):
        a = (KH, KW, SH, SW, PH, PW)
        np.testing.assert_allclose(gpu.avgpool2d_forward(xg, *a, OH2, OW2, cip, div).get(),
                                   cpu.avgpool2d_forward(x, *a, OH2, OW2, cip, div), atol=1e-12)
        gy2 = np.random.default_rng(1).standard_normal((x.shape[0], x.shape[1], OH2, OW2))
        np.testing.assert_allclose(gpu.avgpool2d_backward(cp.asarray(gy2), H, W, *a, cip, div).get(),
                                   cpu.avgpool2d_backward(gy2, H, W, *a, cip, div), atol=1e-12)
    wd = np.random.default_rng(2).standard_normal((x.shape[1], g[0], g[1]))
    yd = cpu.depthwise_forward(x, wd, *g[2:], OH, OW)
    np.testing.assert_allclose(gpu.depthwise_forward(xg, cp.asarray(wd), *g[2:], OH, OW).get(), yd, atol=1e-12)
    np.testing.assert_allclose(gpu.depthwise_transpose(cp.asarray(yd), cp.asarray(wd), H, W, *g[2:]).get(),
                               cpu.depthwise_transpose(yd, wd, H, W, *g[2:]), atol=1e-12)
    np.testing.assert_allclose(gpu.depthwise_weight(xg, cp.asarray(yd), g[0], g[1], *g[2:]).get(),
                               cpu.depthwise_weight(x, yd, g[0], g[1], *g[2:]), atol=1e-10)
    ya, ia = cpu.adaptive_maxpool2d_forward(x, 2, 3)
    yag, iag = gpu.adaptive_maxpool2d_forward(xg, 2, 3)
    np.testing.assert_array_equal(yag.get(), ya)
    np.testing.assert_array_equal(iag.get(), ia)


def test_gpu_module_imports_without_cupy():
    from minigrad.kernels import cpu, gpu  # cupy is imported lazily, inside the kernels
    missing = [n for n in dir(cpu) if not n.startswith("_") and callable(getattr(cpu, n))
               and n.endswith(("forward", "backward")) and not hasattr(gpu, n)]
    assert not missing, f"kernels/gpu.py lacks the CPU kernels' names: {missing}"


@settings(max_examples=30)
@given(geometries())
def test_depthwise_kernels_match_reference(case):
    x, (KH, KW, SH, SW, PH, PW, DH, DW), (OH, OW) = case
    C = x.shape[1]
    rng = np.random.default_rng(5)
    w = rng.standard_normal((C, KH, KW))
    g = (SH, SW, PH, PW, DH, DW)
    y = reference.depthwise_forward(x, w, *g, OH, OW)
    np.testing.assert_allclose(cpu.depthwise_forward(x, w, *g, OH, OW), y, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    H, W = x.shape[2:]
    gx = reference.depthwise_transpose(gy, w, H, W, *g)
    np.testing.assert_allclose(cpu.depthwise_transpose(gy, w, H, W, *g), gx, atol=1e-12)
    gw = reference.depthwise_weight(x, gy, KH, KW, *g)
    np.testing.assert_allclose(cpu.depthwise_weight(x, gy, KH, KW, *g), gw, atol=1e-11)
    # the three are one bilinear form: <y, gy> == <x, gx> == <w, gw>
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(x, gx), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(w, gw), rtol=1e-10, atol=1e-10)
