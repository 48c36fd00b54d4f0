"""Kernels: the Numba (and, with a GPU, CuPy) kernels agree with the NumPy oracle in reference.py, which
agrees with scalar loops written from the definition here; each backward is the adjoint of its forward; and
the three kernel modules share one contract (names and signatures)."""
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad  # noqa: F401  (makes minigrad.kernels importable from a source checkout)
from minigrad import backend

backend.kernels(np.zeros(1))      # loads minigrad.kernels (installed, or the top-level kernels/)
from minigrad.kernels import cpu, gpu, reference  # noqa: E402
from minigrad.kernels.geometry import Geometry  # noqa: E402



@st.composite
def geometries(draw, pool=False):
    """(x, Geometry) for a small random window geometry (pooling: padding at most half the kernel)."""
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
    return x, Geometry(KH, KW, SH, SW, PH, PW, DH, DW, H, W, OH, OW)


def _reads(g, oh, ow):
    """The definition: the input positions (kh, kw, ih, iw) that output (oh, ow) reads, in scan order."""
    for kh in range(g.KH):
        for kw in range(g.KW):
            yield kh, kw, oh * g.SH - g.PH + kh * g.DH, ow * g.SW - g.PW + kw * g.DW


def naive_im2col(x, g):
    col = np.zeros(x.shape[:2] + (g.KH, g.KW, g.OH, g.OW))
    for oh in range(g.OH):
        for ow in range(g.OW):
            for kh, kw, ih, iw in _reads(g, oh, ow):
                if 0 <= ih < g.H and 0 <= iw < g.W:
                    col[:, :, kh, kw, oh, ow] = x[:, :, ih, iw]
    return col


def naive_maxpool(x, g):
    """PyTorch's rule, one window at a time: first maximum wins, NaN wins, and a window with nothing above
    -inf reports its first in-range offset."""
    N, C = x.shape[:2]
    y, idx = np.empty((N, C, g.OH, g.OW)), np.empty((N, C, g.OH, g.OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(g.OH):
                for ow in range(g.OW):
                    reads = [(ih, iw) for _, _, ih, iw in _reads(g, oh, ow) if ih >= 0 and iw >= 0]
                    best, arg = -np.inf, reads[0][0] * g.W + reads[0][1]
                    for ih, iw in reads:
                        if ih < g.H and iw < g.W and (x[n, c, ih, iw] > best or np.isnan(x[n, c, ih, iw])):
                            best, arg = x[n, c, ih, iw], ih * g.W + iw
                    y[n, c, oh, ow], idx[n, c, oh, ow] = best, arg
    return y, idx


@settings(max_examples=40)
@given(geometries())
def test_im2col_col2im_match_reference(case):
    x, g = case
    col = reference.im2col(x, g)
    np.testing.assert_array_equal(col, naive_im2col(x, g))
    np.testing.assert_array_equal(cpu.im2col(x, g), col)
    c = np.random.default_rng(1).standard_normal(col.shape)
    gx = reference.col2im(c, g)
    np.testing.assert_allclose(cpu.col2im(c, g), gx, atol=1e-12)
    # adjoint: <im2col(x), c> == <x, col2im(c)>
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, gx), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernels", [cpu, reference], ids=["cpu", "reference"])
def test_im2col_col2im_fill_out_buffers(kernels):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 17)).astype(np.float32)
    g = Geometry(3, 3, 1, 1, 1, 1, 1, 1, 5, 17, 5, 17)
    out = np.full((2, 3, 3, 3, 5, 17), 7, np.float32)
    col = kernels.im2col(x, g, out=out)
    assert col is out and col.dtype == np.float32
    np.testing.assert_array_equal(col, naive_im2col(x, g))
    gx = np.full((2, 3, 5, 17), 7, np.float32)
    assert kernels.col2im(col, g, out=gx) is gx
    np.testing.assert_allclose(gx, reference.col2im(col.astype(np.float64), g), rtol=1e-6)


@settings(max_examples=40)
@given(geometries(pool=True), st.booleans())
def test_maxpool_kernels_match_reference(case, with_specials):
    x, g = case
    if with_specials:        # ties, -inf and NaN: the index rules matter
        x = np.round(x)
        x.flat[::3], x.flat[1::7] = -np.inf, np.nan
    y, idx = reference.maxpool2d_forward(x, g)
    y0, idx0 = naive_maxpool(x, g)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(idx, idx0)
    y2, idx2 = cpu.maxpool2d_forward(x, g)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(idx2, idx)
    gy = np.random.default_rng(2).standard_normal(y.shape)
    gx = reference.maxpool2d_backward(gy, idx, g)
    np.testing.assert_allclose(cpu.maxpool2d_backward(gy, idx, g), gx, atol=1e-12)
    np.testing.assert_array_equal(cpu.maxpool2d_gather(gx, idx, g), reference.maxpool2d_gather(gx, idx, g))
    np.testing.assert_allclose(np.vdot(reference.maxpool2d_gather(gx, idx, g), gy), np.vdot(gx, gx),
                               rtol=1e-10, atol=1e-10)


def test_maxpool_ties_go_to_the_first_position():
    x = np.zeros((1, 1, 4, 4))
    g = Geometry(3, 3, 1, 1, 0, 0, 1, 1, 4, 4, 2, 2)
    y, idx = cpu.maxpool2d_forward(x, g)
    np.testing.assert_array_equal(idx[0, 0], [[0, 1], [4, 5]])    # each window's top-left element
    gx = cpu.maxpool2d_backward(np.ones_like(y), idx, g)
    assert gx.sum() == 4 and gx[0, 0, 0, 0] == 1


@settings(max_examples=40)
@given(geometries(pool=True), st.booleans(), st.sampled_from([0, 0, 3]))
def test_avgpool_kernels_match_reference(case, count_include_pad, divisor):
    x, g = case
    OH, OW = (g.H + 2 * g.PH - g.KH) // g.SH + 1, (g.W + 2 * g.PW - g.KW) // g.SW + 1
    if OH < 1 or OW < 1:
        return
    g = g._replace(DH=1, DW=1, OH=OH, OW=OW)
    opts = dict(count_include_pad=count_include_pad, divisor_override=divisor)
    y = reference.avgpool2d_forward(x, g, **opts)
    for oh, ow in [(0, 0), (OH - 1, OW - 1)]:           # the definition, at two corners
        vals = [x[:, :, ih, iw] for _, _, ih, iw in _reads(g, oh, ow) if 0 <= ih < g.H and 0 <= iw < g.W]
        d = divisor or (len(list(_reads(g, oh, ow))) if count_include_pad else len(vals))
        if count_include_pad and not divisor:   # windows are clipped to the padded input
            d = (min(oh * g.SH - g.PH + g.KH, g.H + g.PH) - (oh * g.SH - g.PH)) * \
                (min(ow * g.SW - g.PW + g.KW, g.W + g.PW) - (ow * g.SW - g.PW))
        np.testing.assert_allclose(y[:, :, oh, ow], sum(vals) / d, atol=1e-12)
    np.testing.assert_allclose(cpu.avgpool2d_forward(x, g, **opts), y, atol=1e-12)
    gy = np.random.default_rng(3).standard_normal(y.shape)
    gx = reference.avgpool2d_backward(gy, g, **opts)
    np.testing.assert_allclose(cpu.avgpool2d_backward(gy, g, **opts), gx, atol=1e-12)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(x, gx), rtol=1e-10, atol=1e-10)


@settings(max_examples=25)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5), st.integers(0, 99))
def test_adaptive_maxpool_matches_reference(H, W, OH, OW, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, H, W))
    g = Geometry.adaptive(H, W, OH, OW)
    y, idx = reference.adaptive_maxpool2d_forward(x, g)
    h0, h1 = 0, -(-H // OH)
    np.testing.assert_array_equal(y[:, :, 0, 0], x[:, :, h0:h1, :-(-W // OW)].max((2, 3)))
    y2, idx2 = cpu.adaptive_maxpool2d_forward(x, g)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(idx2, idx)


def test_kernels_run_without_jit():
    """NUMBA_DISABLE_JIT=1 turns the kernels into plain Python; they still agree with the oracle."""
    code = (
        "import numpy as np, minigrad; from minigrad import backend; backend.kernels(np.zeros(1));"
        "from minigrad.kernels import cpu, reference as r; from minigrad.kernels.geometry import Geometry as G;"
        "x = np.random.default_rng(0).standard_normal((1, 2, 5, 6));"
        "g = G(3, 2, 2, 1, 1, 0, 1, 2, 5, 6, 3, 4); p = G(3, 3, 2, 2, 1, 1, 1, 1, 5, 6, 3, 3);"
        "assert (cpu.im2col(x, g) == r.im2col(x, g)).all();"
        "c = r.im2col(x, g);"
        "assert np.allclose(cpu.col2im(c, g), r.col2im(c, g));"
        "assert (cpu.maxpool2d_forward(x, p)[1] == r.maxpool2d_forward(x, p)[1]).all();"
        "assert np.allclose(cpu.avgpool2d_forward(x, p, count_include_pad=False),"
        " r.avgpool2d_forward(x, p, count_include_pad=False))")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def _gpu_arrays():
    """The array module the GPU kernels run on here: NumPy under Numba's CUDA simulator (CI), CuPy on a GPU."""
    from numba import config
    if config.ENABLE_CUDASIM:
        return np
    if not minigrad.is_cuda_available() or minigrad.cuda.is_simulated():
        pytest.skip("no GPU, and Numba's CUDA simulator is off (NUMBA_ENABLE_CUDASIM=0)")
    import cupy
    return cupy


def _host(a):
    return a.get() if hasattr(a, "get") else a


@settings(max_examples=12)
@given(geometries(pool=True), st.booleans())
def test_gpu_kernels_match_the_reference(case, with_specials):
    """The exact CUDA code of kernels/gpu.py, run on the GPU or, in CI, under Numba's CUDA simulator."""
    xp = _gpu_arrays()
    x, g = case
    x = x[:1, :2]
    if with_specials:
        x = np.round(x)
        x.flat[::3], x.flat[1::7] = -np.inf, np.nan
    xd = xp.asarray(x)
    xf = np.nan_to_num(x, nan=0.5, neginf=-3.0)          # finite values for the sums
    col = reference.im2col(xf, g)
    np.testing.assert_array_equal(_host(gpu.im2col(xp.asarray(xf), g)), col)
    np.testing.assert_allclose(_host(gpu.col2im(xp.asarray(col), g)), reference.col2im(col, g), atol=1e-12)
    y, idx = reference.maxpool2d_forward(x, g)
    yd, idxd = gpu.maxpool2d_forward(xd, g)
    np.testing.assert_array_equal(_host(yd), y)
    np.testing.assert_array_equal(_host(idxd), idx)
    gy = np.random.default_rng(0).standard_normal(y.shape)
    np.testing.assert_allclose(_host(gpu.maxpool2d_backward(xp.asarray(gy), idxd, g)),
                               reference.maxpool2d_backward(gy, idx, g), atol=1e-12)
    gx = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(_host(gpu.maxpool2d_gather(xp.asarray(gx), idxd, g)),
                                  reference.maxpool2d_gather(gx, idx, g))
    OH2, OW2 = (g.H + 2 * g.PH - g.KH) // g.SH + 1, (g.W + 2 * g.PW - g.KW) // g.SW + 1
    a = g._replace(DH=1, DW=1, OH=OH2, OW=OW2)
    for cip, div in ((True, 0), (False, 0), (True, 3)):
        opts = dict(count_include_pad=cip, divisor_override=div)
        np.testing.assert_allclose(_host(gpu.avgpool2d_forward(xp.asarray(xf), a, **opts)),
                                   reference.avgpool2d_forward(xf, a, **opts), atol=1e-12)
        gy2 = np.random.default_rng(1).standard_normal(x.shape[:2] + (OH2, OW2))
        np.testing.assert_allclose(_host(gpu.avgpool2d_backward(xp.asarray(gy2), a, **opts)),
                                   reference.avgpool2d_backward(gy2, a, **opts), atol=1e-12)
    wd = np.random.default_rng(2).standard_normal((x.shape[1], g.KH, g.KW))
    yd = reference.depthwise_forward(xf, wd, g)
    np.testing.assert_allclose(_host(gpu.depthwise_forward(xp.asarray(xf), xp.asarray(wd), g)), yd, atol=1e-12)
    np.testing.assert_allclose(_host(gpu.depthwise_transpose(xp.asarray(yd), xp.asarray(wd), g)),
                               reference.depthwise_transpose(yd, wd, g), atol=1e-12)
    np.testing.assert_allclose(_host(gpu.depthwise_weight(xp.asarray(xf), xp.asarray(yd), g)),
                               reference.depthwise_weight(xf, yd, g), atol=1e-10)
    ga = Geometry.adaptive(g.H, g.W, 2, 3)
    ya, ia = reference.adaptive_maxpool2d_forward(x, ga)
    yag, iag = gpu.adaptive_maxpool2d_forward(xd, ga)
    np.testing.assert_array_equal(_host(yag), ya)
    np.testing.assert_array_equal(_host(iag), ia)


def test_gpu_kernels_take_ceil_mode_and_overlapping_pools():
    """Windows past the input (ceil_mode) and overlapping 3x3/2 pools, as in AlexNet."""
    xp = _gpu_arrays()
    x = np.random.default_rng(3).standard_normal((1, 2, 7, 7))
    for g in (Geometry(3, 3, 2, 2, 0, 0, 1, 1, 7, 7, 3, 3), Geometry(2, 2, 2, 2, 0, 0, 1, 1, 7, 7, 4, 4),
              Geometry(3, 3, 2, 2, 1, 1, 1, 1, 7, 7, 4, 4)):
        y, idx = reference.maxpool2d_forward(x, g)
        yd, idxd = gpu.maxpool2d_forward(xp.asarray(x), g)
        np.testing.assert_array_equal(_host(yd), y)
        np.testing.assert_array_equal(_host(idxd), idx)
        for cip in (True, False):
            np.testing.assert_allclose(_host(gpu.avgpool2d_forward(xp.asarray(x), g, count_include_pad=cip)),
                                       reference.avgpool2d_forward(x, g, count_include_pad=cip), atol=1e-12)


def _contract(module):
    """{public name: signature} of a kernel module: the functions of minigrad.kernels it holds, and its
    CHUNK_BYTES."""
    names = {n: getattr(module, n) for n in dir(module) if not n.startswith("_")}
    return {n: str(inspect.signature(f)) if inspect.isfunction(f) else type(f).__name__
            for n, f in names.items()
            if n == "CHUNK_BYTES" or inspect.isfunction(f) and f.__module__.startswith("minigrad.kernels")}


def test_the_three_kernel_modules_share_one_contract():
    """reference, cpu and gpu export the same kernels with the same signatures (gpu imports without CuPy),
    every window kernel takes its arrays, then the Geometry, then keyword-only options (the per-channel
    batch_norm_* kernels and relu_backward have no window: arrays only; blas_one_thread takes nothing)."""
    ref = _contract(reference)
    assert _contract(cpu) == ref
    assert _contract(gpu) == ref
    assert {"map_chunks", "workers", "CHUNK_BYTES", "blas_one_thread", "im2col", "col2im"} <= set(ref)
    for name, sig in ref.items():
        if name in ("map_chunks", "workers", "CHUNK_BYTES", "blas_one_thread", "relu_backward") or \
                name.startswith("batch_norm_"):
            continue
        params = list(inspect.signature(getattr(reference, name)).parameters.values())
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional[-1] == "g", f"{name}{sig}: the geometry comes last among the positional arguments"
        assert all(p.kind is p.KEYWORD_ONLY for p in params[len(positional):]), f"{name}{sig}"
        assert all(p.kind is not p.VAR_POSITIONAL for p in params), f"{name}{sig}"


def test_minigrad_kernels_env_var_selects_the_backend(monkeypatch):
    monkeypatch.setenv("MINIGRAD_KERNELS", "reference")
    assert backend.kernels(np.zeros(1)) is reference
    monkeypatch.setenv("MINIGRAD_KERNELS", "numba")
    with pytest.raises(ValueError, match="MINIGRAD_KERNELS must be one of cpu, reference.*got 'numba'"):
        backend.kernels(np.zeros(1))
    monkeypatch.delenv("MINIGRAD_KERNELS")
    assert backend.kernels(np.zeros(1)) is cpu


@settings(max_examples=30)
@given(geometries())
def test_depthwise_kernels_match_reference(case):
    x, g = case
    rng = np.random.default_rng(5)
    w = rng.standard_normal((x.shape[1], g.KH, g.KW))
    y = reference.depthwise_forward(x, w, g)
    np.testing.assert_allclose(y, np.einsum("nckhij,ckh->ncij", naive_im2col(x, g), w), atol=1e-12)
    np.testing.assert_allclose(cpu.depthwise_forward(x, w, g), y, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx = reference.depthwise_transpose(gy, w, g)
    np.testing.assert_allclose(cpu.depthwise_transpose(gy, w, g), gx, atol=1e-12)
    gw = reference.depthwise_weight(x, gy, g)
    np.testing.assert_allclose(cpu.depthwise_weight(x, gy, g), gw, atol=1e-11)
    # the three are one bilinear form: <y, gy> == <x, gx> == <w, gw>
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(x, gx), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.vdot(y, gy), np.vdot(w, gw), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 2, 1), (7, 1, 33)])
def test_batch_norm_kernels_match_reference(shape, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 100).astype(dtype)    # |mean| >> std: the variance must not cancel
    gy = rng.standard_normal(shape).astype(dtype)
    a, b, c = (rng.standard_normal(shape[1]) for _ in range(3))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for got, want in zip(cpu.batch_norm_stats(x), reference.batch_norm_stats(x)):
        np.testing.assert_allclose(got, want, **tol)
    np.testing.assert_allclose(cpu.batch_norm_stats(x)[1], x.astype(np.float64).var(axis=(0, 2)), rtol=1e-4)
    mean = reference.batch_norm_stats(x)[0]
    for got, want in zip(cpu.batch_norm_grad_sums(gy, x, mean), reference.batch_norm_grad_sums(gy, x, mean)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3 if dtype == np.float32 else 1e-9)
    for name, args in (("batch_norm_affine", (x, a, b)), ("batch_norm_combine", (gy, x, a, b, c))):
        got, want = getattr(cpu, name)(*args), getattr(reference, name)(*args)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)


PTX_CHECK = r"""
import sys, numba
from numba import cuda
from minigrad.kernels import gpu
def arr(dt, nd): return numba.types.Array(dt, nd, "C")
i = numba.int64
for dt in (numba.float32, numba.float64):
    a4, a3, a6, ix = arr(dt, 4), arr(dt, 3), arr(dt, 6), arr(numba.int64, 4)
    sigs = {"_im2col": (a4, a6) + (i,) * 6, "_col2im": (a6, a4) + (i,) * 6,
            "_maxpool_forward": (a4, a4, ix) + (i,) * 8, "_maxpool_backward": (a4, ix, a3),
            "_maxpool_gather": (a3, ix, a4), "_adaptive_maxpool_forward": (a4, a4, ix),
            "_avgpool_forward": (a4, a4, arr(numba.float64, 2)) + (i,) * 6,
            "_avgpool_backward": (a4, a4, arr(numba.float64, 2)) + (i,) * 6}
    kernels = {n for n in dir(gpu) if hasattr(getattr(gpu, n), "py_func") and not getattr(gpu, n).targetoptions.get("device")}
    assert kernels == set(sigs), kernels ^ set(sigs)
    for name, sig in sigs.items():
        cuda.compile_ptx(getattr(gpu, name).py_func, sig, cc=(7, 5))
print("ok", len(sigs))
"""


def _nvvm_env():
    """The environment for compiling CUDA kernels without a GPU: NVVM from NVIDIA's PyPI wheel
    (``pip install nvidia-cuda-nvcc-cu12``, what .ci/run installs where no CUDA toolkit is) when it is
    installed, else whatever CUDA toolkit Numba finds on the machine."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", PYTHONPATH=os.pathsep.join(sys.path))
    try:
        import nvidia.cuda_nvcc
        home = list(nvidia.cuda_nvcc.__path__)[0]
    except ImportError:
        return env
    nvvm = os.path.join(home, "nvvm", "lib64")
    if os.path.isdir(nvvm):     # Numba loads libnvvm.so by name, and reads libdevice under CUDA_HOME
        env["CUDA_HOME"] = home
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [nvvm, env.get("LD_LIBRARY_PATH")]))
    return env


def test_every_gpu_kernel_compiles_to_ptx_for_float32_and_float64():
    """Type-checks the CUDA kernels for real (NVVM, no GPU needed); skips where neither a CUDA toolkit nor
    NVIDIA's nvcc wheel is installed."""
    env = _nvvm_env()
    probe = subprocess.run([sys.executable, "-c", "from numba import cuda; import numba; cuda.compile_ptx("
                            "lambda x: None, (numba.float32[:],), cc=(7, 5))"], env=env, capture_output=True,
                           text=True, timeout=300)
    if probe.returncode:
        pytest.skip("no NVVM (CUDA toolkit) on this machine: " + probe.stderr.strip().splitlines()[-1][:120])
    out = subprocess.run([sys.executable, "-c", PTX_CHECK], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.startswith("ok 8"), out.stderr[-2000:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("step", [1, 2])                  # contiguous, and a strided view
def test_relu_backward_matches_reference(dtype, step):
    rng = np.random.default_rng(1)
    y = np.maximum(rng.standard_normal((3, 6, 7)), 0).astype(dtype)
    y[0, 0, :3] = 0                                    # exact zeros: no gradient, as relu's at 0
    gy = rng.standard_normal(y.shape).astype(dtype)
    y, gy = y[:, ::step], gy[:, ::step]
    got, want = cpu.relu_backward(gy, y), reference.relu_backward(gy, y)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, np.where(y > 0, gy, 0))


def test_blas_one_thread_pins_numpys_blas_and_restores_it():
    """In a fresh process, so that NumPy's BLAS is the only one loaded: another library's BLAS (scipy's, loaded by
    an earlier test) is not NumPy's and is not pinned."""
    pytest.importorskip("threadpoolctl")
    code = """
import numpy as np, threadpoolctl
import minigrad
from minigrad.kernels import cpu
def blas():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
before = blas()
with cpu.blas_one_thread():
    inside = blas()
    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)
print(before, inside, blas())
assert before and inside == [1] * len(before) and blas() == before
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
