"""GPU kernels in Numba's CUDA dialect: the same names and signatures as ``cpu.py`` and ``reference.py``.

One CUDA thread per output element. col2im and the average-pool backward gather (each input pixel sums
the column entries that read it), so they need no atomics; the max-pool backward scatters with an atomic
add. On a GPU the arrays are CuPy's (Numba reads them through ``__cuda_array_interface__``); under Numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) they are NumPy arrays and every CUDA thread runs in Python on
the CPU, which is how CI runs this exact code without a GPU. Neither CuPy nor a GPU is needed to import it.
"""
import contextlib
import math

import numpy as np
from numba import cuda

from .geometry import Geometry  # noqa: F401  (the type every kernel takes)

_THREADS = 128


def _xp(a):
    """cupy for a CuPy array, numpy for a NumPy one (the CUDA simulator)."""
    if type(a).__module__.startswith("cupy"):
        import cupy
        return cupy
    return np


def _launch(kernel, n, *args):
    if n:
        kernel[math.ceil(n / _THREADS), _THREADS](*args)


def _contiguous(a):
    return _xp(a).ascontiguousarray(a)


# -------------------------------------------------------------------------------------- im2col, col2im
@cuda.jit
def _im2col(x, col, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW, OH, OW = col.shape[2], col.shape[3], col.shape[4], col.shape[5]
    i = cuda.grid(1)
    if i >= N * C * KH * KW * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    kw = (i // (OW * OH)) % KW
    kh = (i // (OW * OH * KW)) % KH
    c = (i // (OW * OH * KW * KH)) % C
    n = i // (OW * OH * KW * KH * C)
    ih, iw = oh * SH - PH + kh * DH, ow * SW - PW + kw * DW
    col[n, c, kh, kw, oh, ow] = x[n, c, ih, iw] if 0 <= ih < H and 0 <= iw < W else 0


@cuda.jit
def _col2im(col, x, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW, OH, OW = col.shape[2], col.shape[3], col.shape[4], col.shape[5]
    i = cuda.grid(1)
    if i >= N * C * H * W:
        return
    w = i % W
    h = (i // W) % H
    c = (i // (W * H)) % C
    n = i // (W * H * C)
    s = 0.0
    for kh in range(KH):
        th = h + PH - kh * DH                  # = oh * SH for the output row that reads (h, kh)
        if th < 0 or th % SH or th // SH >= OH:
            continue
        for kw in range(KW):
            tw = w + PW - kw * DW
            if tw < 0 or tw % SW or tw // SW >= OW:
                continue
            s += col[n, c, kh, kw, th // SH, tw // SW]
    x[n, c, h, w] = s


def im2col(x, g, *, out=None, parallel=True):
    """x (N, C, H, W) -> col (N, C, KH, KW, OH, OW); ``out`` a C-contiguous array to fill."""
    x = _contiguous(x)
    if out is None:
        out = _xp(x).empty(x.shape[:2] + (g.KH, g.KW, g.OH, g.OW), dtype=x.dtype)
    _launch(_im2col, out.size, x, out, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW)
    return out


def col2im(col, g, *, out=None, parallel=True):
    """col (N, C, KH, KW, OH, OW) -> x (N, C, H, W), the adjoint of im2col."""
    col = _contiguous(col)
    if out is None:
        out = _xp(col).empty(col.shape[:2] + (g.H, g.W), dtype=col.dtype)
    _launch(_col2im, out.size, col, out, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW)
    return out


# ------------------------------------------------------------------------------------------ depthwise
def depthwise_forward(x, w, g):
    """x (N, C, H, W), w (C, KH, KW) -> y (N, C, OH, OW) (im2col + a batched contraction on the GPU)."""
    return _xp(x).einsum("nckhij,ckh->ncij", im2col(x, g), w.astype(x.dtype, copy=False))


def depthwise_transpose(gy, w, g):
    """The adjoint of depthwise_forward in x."""
    return col2im(_xp(gy).einsum("ncij,ckh->nckhij", gy, w.astype(gy.dtype, copy=False)), g)


def depthwise_weight(x, gy, g):
    """The adjoint of depthwise_forward in w: gw (C, KH, KW)."""
    return _xp(x).einsum("nckhij,ncij->ckh", im2col(x, g), gy)


# --------------------------------------------------------------------------------------------- batches
# On the GPU, chunks only bound memory: as big as the im2col budget allows.
CHUNK_BYTES = 2 ** 62


def workers():
    """Chunks run one after another on the GPU's stream."""
    return 1


def map_chunks(fn, chunks):
    """[fn(start, stop, True) for each chunk], in order (the GPU parallelises inside each kernel)."""
    return [fn(s, e, True) for s, e in chunks]


@contextlib.contextmanager
def blas_one_thread():
    """Nothing to pin on the GPU (the CPU kernels put NumPy's BLAS on one thread for small products)."""
    yield


# ------------------------------------------------------------------------------------------- max pool
@cuda.jit
def _maxpool_forward(x, y, idx, KH, KW, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    i = cuda.grid(1)
    if i >= N * C * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    c = (i // (OW * OH)) % C
    n = i // (OW * OH * C)
    h0, w0 = oh * SH - PH, ow * SW - PW
    kh0 = -(h0 // DH) if h0 < 0 else 0          # the first offset inside the input
    kw0 = -(w0 // DW) if w0 < 0 else 0
    best = -math.inf
    arg = (h0 + kh0 * DH) * W + (w0 + kw0 * DW)  # PyTorch: the first in-range position
    for kh in range(kh0, KH):
        ih = h0 + kh * DH
        if ih >= H:
            break
        for kw in range(kw0, KW):
            iw = w0 + kw * DW
            if iw >= W:
                break
            v = x[n, c, ih, iw]
            if v > best or math.isnan(v):        # the first maximum wins ties; NaN wins over everything
                best = v
                arg = ih * W + iw
    y[n, c, oh, ow] = best
    idx[n, c, oh, ow] = arg


@cuda.jit
def _maxpool_backward(gy, idx, gx):
    N, C, OH, OW = gy.shape
    HW = gx.shape[2]
    i = cuda.grid(1)
    if i >= N * C * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    c = (i // (OW * OH)) % C
    n = i // (OW * OH * C)
    j = idx[n, c, oh, ow]
    if 0 <= j < HW:                              # a window wholly in the padding sends nothing
        cuda.atomic.add(gx, (n, c, j), gy[n, c, oh, ow])


@cuda.jit
def _maxpool_gather(gx, idx, gy):
    N, C, OH, OW = gy.shape
    HW = gx.shape[2]
    i = cuda.grid(1)
    if i >= N * C * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    c = (i // (OW * OH)) % C
    n = i // (OW * OH * C)
    j = idx[n, c, oh, ow]
    gy[n, c, oh, ow] = gx[n, c, j] if 0 <= j < HW else 0


@cuda.jit
def _adaptive_maxpool_forward(x, y, idx):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    i = cuda.grid(1)
    if i >= N * C * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    c = (i // (OW * OH)) % C
    n = i // (OW * OH * C)
    h0, h1 = (oh * H) // OH, ((oh + 1) * H + OH - 1) // OH
    w0, w1 = (ow * W) // OW, ((ow + 1) * W + OW - 1) // OW
    best = -math.inf
    arg = h0 * W + w0
    for ih in range(h0, h1):
        for iw in range(w0, w1):
            v = x[n, c, ih, iw]
            if v > best or math.isnan(v):
                best = v
                arg = ih * W + iw
    y[n, c, oh, ow] = best
    idx[n, c, oh, ow] = arg


def maxpool2d_forward(x, g):
    """x (N, C, H, W) -> (y, idx), idx the flat position ih*W + iw of each window's (first) maximum."""
    xp, x = _xp(x), _contiguous(x)
    y = xp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    idx = xp.empty(x.shape[:2] + (g.OH, g.OW), dtype=np.int64)
    _launch(_maxpool_forward, y.size, x, y, idx, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW)
    return y, idx


def maxpool2d_backward(gy, idx, g):
    """gx (N, C, H, W) with each gy[n, c, oh, ow] added at flat position idx[n, c, oh, ow]."""
    xp, gy, idx = _xp(gy), _contiguous(gy), _contiguous(idx)
    gx = xp.zeros(gy.shape[:2] + (g.H * g.W,), dtype=gy.dtype)
    _launch(_maxpool_backward, gy.size, gy, idx, gx)
    return gx.reshape(gy.shape[:2] + (g.H, g.W))


def maxpool2d_gather(gx, idx, g):
    """The adjoint of maxpool2d_backward: gy[n, c, oh, ow] = gx[n, c].flat[idx[n, c, oh, ow]]."""
    xp, idx = _xp(gx), _contiguous(idx)
    gx = _contiguous(gx).reshape(gx.shape[:2] + (-1,))
    gy = xp.empty(idx.shape, dtype=gx.dtype)
    _launch(_maxpool_gather, gy.size, gx, idx, gy)
    return gy


def adaptive_maxpool2d_forward(x, g):
    """Adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH)) (only g's plane sizes count); returns (y, idx)
    as maxpool2d_forward."""
    xp, x = _xp(x), _contiguous(x)
    y = xp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    idx = xp.empty(x.shape[:2] + (g.OH, g.OW), dtype=np.int64)
    _launch(_adaptive_maxpool_forward, y.size, x, y, idx)
    return y, idx


# ------------------------------------------------------------------------------------------- avg pool
# The divisor of each window (PyTorch's rules, 0 for a window that holds no input pixel) is a small (OH, OW)
# table computed on the host (Geometry.avgpool_divisors) and copied over: the kernels only divide.
@cuda.jit
def _avgpool_forward(x, y, divisors, KH, KW, SH, SW, PH, PW):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    i = cuda.grid(1)
    if i >= N * C * OH * OW:
        return
    ow = i % OW
    oh = (i // OW) % OH
    c = (i // (OW * OH)) % C
    n = i // (OW * OH * C)
    d = divisors[oh, ow]
    s = 0.0
    if d > 0:                                    # (no min/max here: Numba's CUDA builtins need a driver
        h0, w0 = oh * SH - PH, ow * SW - PW      # to compile, and CI type-checks these without one)
        for ih in range(h0 if h0 > 0 else 0, h0 + KH if h0 + KH < H else H):
            for iw in range(w0 if w0 > 0 else 0, w0 + KW if w0 + KW < W else W):
                s += x[n, c, ih, iw]
        s /= d
    y[n, c, oh, ow] = s


@cuda.jit
def _avgpool_backward(gy, gx, divisors, KH, KW, SH, SW, PH, PW):
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    i = cuda.grid(1)
    if i >= N * C * H * W:
        return
    w = i % W
    h = (i // W) % H
    c = (i // (W * H)) % C
    n = i // (W * H * C)
    s = 0.0                                      # the windows that hold (h, w): start <= h < start + K
    oh0, oh1 = (h + PH - KH) // SH + 1, (h + PH) // SH + 1
    ow0, ow1 = (w + PW - KW) // SW + 1, (w + PW) // SW + 1
    for oh in range(oh0 if oh0 > 0 else 0, oh1 if oh1 < OH else OH):
        for ow in range(ow0 if ow0 > 0 else 0, ow1 if ow1 < OW else OW):
            if divisors[oh, ow] > 0:
                s += gy[n, c, oh, ow] / divisors[oh, ow]
    gx[n, c, h, w] = s


def _divisors(xp, g, count_include_pad, divisor_override):
    return xp.asarray(g.avgpool_divisors(count_include_pad, divisor_override).astype(np.float64))


def avgpool2d_forward(x, g, *, count_include_pad=True, divisor_override=0):
    """x (N, C, H, W) -> y (N, C, OH, OW) with PyTorch's divisor (0 = no override)."""
    xp, x = _xp(x), _contiguous(x)
    y = xp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    _launch(_avgpool_forward, y.size, x, y, _divisors(xp, g, count_include_pad, divisor_override),
            g.KH, g.KW, g.SH, g.SW, g.PH, g.PW)
    return y


def avgpool2d_backward(gy, g, *, count_include_pad=True, divisor_override=0):
    """The adjoint of avgpool2d_forward: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    xp, gy = _xp(gy), _contiguous(gy)
    gx = xp.empty(gy.shape[:2] + (g.H, g.W), dtype=gy.dtype)
    _launch(_avgpool_backward, gx.size, gy, gx, _divisors(xp, g, count_include_pad, divisor_override),
            g.KH, g.KW, g.SH, g.SW, g.PH, g.PW)
    return gx


# ------------------------------------------------------------------------------------------ batch norm
# The plain array expressions of reference.py run as they are on CuPy arrays (each reduction and each
# fused elementwise expression is one pass on the GPU).
from .reference import batch_norm_affine, batch_norm_combine, batch_norm_grad_sums, batch_norm_stats  # noqa: E402,F401
from .reference import relu_backward  # noqa: E402,F401  (one fused elementwise pass on CuPy)
