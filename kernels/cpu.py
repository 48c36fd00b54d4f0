"""CPU kernels in Numba: im2col, col2im, depthwise convolution, max/avg pooling forward and backward.

Same names and signatures as ``reference.py`` (the oracle) and ``gpu.py``: ``(array(s), geometry, *,
options)``, the geometry a ``geometry.Geometry``. Every kernel loops in parallel over the
N*C image planes, so each thread owns whole planes and col2im / pooling backward accumulate without races
(no ``np.add.at``). im2col and col2im also come serial (``parallel=False``) for ``map_chunks``, which runs
a convolution's batch chunks on the thread pool of ``threads.py``.

Window geometry, for every kernel: output (oh, ow) and kernel offset (kh, kw) read input row
``ih = oh*SH - PH + kh*DH`` and column ``iw = ow*SW - PW + kw*DW``; positions outside the image are zeros
(conv) or skipped (pooling).

``NUMBA_DISABLE_JIT=1`` turns all of this into plain (slow) Python for debugging.
"""
import os

import numba
import numpy as np
from numba import njit, prange

from .geometry import Geometry  # noqa: F401  (the type every kernel takes)
from .threads import CHUNK_BYTES, blas_one_thread, map_chunks, workers  # noqa: F401  (the kernel contract)

# Numba's default OpenMP layer busy-waits in a way that collides with OpenBLAS's own threads: a parallel
# kernel followed by a GEMM then costs ~10 ms of spinning. The workqueue layer hands the cores back at once.
# (It must not be entered from two Python threads at the same time; set NUMBA_THREADING_LAYER to override.)
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


def _strides(g):
    """(SH, SW, PH, PW, DH, DW): the scalar arguments of the Numba loops below."""
    return g.SH, g.SW, g.PH, g.PW, g.DH, g.DW


# --------------------------------------------------------------------------------------------- im2col
# Each plane is first copied into a zero-padded buffer big enough for every window; then every column row
# is a plain copy from that buffer through views indexed from 0 (Numba must otherwise guard each index
# against negative wraparound, which stops LLVM from vectorising the copy).
@njit(cache=True, inline="always")
def _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW):
    """A plane big enough for the image at (PH, PW) and for every window: all reads in bounds."""
    return max(PH + H, (OH - 1) * SH + (KH - 1) * DH + 1), max(PW + W, (OW - 1) * SW + (KW - 1) * DW + 1)


@njit(cache=True, inline="always")
def _im2col_plane(xp, cp, pad, KH, KW, SH, SW, PH, PW, DH, DW):
    """One image plane xp (H, W) -> its columns cp (KH, KW, OH, OW); pad is a zeroed padded buffer."""
    H, W = xp.shape
    OH, OW = cp.shape[2], cp.shape[3]
    for ih in range(H):
        prow, xrow = pad[PH + ih, PW:], xp[ih]
        for iw in range(W):
            prow[iw] = xrow[iw]
    for kh in range(KH):
        for kw in range(KW):
            if OW < 16:        # narrow maps: unsigned indexes (no wraparound test) instead of row views
                for oh in range(OH):
                    r, c0 = np.uint64(oh * SH + kh * DH), kw * DW
                    for ow in range(OW):
                        cp[kh, kw, oh, ow] = pad[r, np.uint64(c0 + ow * SW)]
                continue
            for oh in range(OH):
                dst = cp[kh, kw, oh]
                if SW == 1:
                    src = pad[oh * SH + kh * DH, kw * DW:]
                    for ow in range(OW):
                        dst[ow] = src[ow]
                else:
                    src = pad[oh * SH + kh * DH, kw * DW::SW]
                    for ow in range(OW):
                        dst[ow] = src[ow]


@njit(parallel=True, cache=True, nogil=True)
def _im2col_parallel(x, col, KH, KW, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, col.shape[4], col.shape[5])
    for p in prange(N * C):
        pad = np.zeros((Hp, Wp), dtype=x.dtype)
        _im2col_plane(x[p // C, p % C], col[p // C, p % C], pad, KH, KW, SH, SW, PH, PW, DH, DW)


@njit(cache=True, nogil=True)
def _im2col_serial(x, col, KH, KW, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, col.shape[4], col.shape[5])
    pad = np.zeros((Hp, Wp), dtype=x.dtype)        # the border stays zero; the interior is rewritten
    for p in range(N * C):
        _im2col_plane(x[p // C, p % C], col[p // C, p % C], pad, KH, KW, SH, SW, PH, PW, DH, DW)


def im2col(x, g, *, out=None, parallel=True):
    """x (N, C, H, W) -> col (N, C, KH, KW, OH, OW) for the window geometry ``g``.

    ``out``, if given, is a C-contiguous (N, C, KH, KW, OH, OW) array to fill and return.
    ``parallel=False`` runs on the calling thread only (inside ``map_chunks``).
    """
    x = np.ascontiguousarray(x)
    if out is None:
        out = np.empty((x.shape[0], x.shape[1], g.KH, g.KW, g.OH, g.OW), dtype=x.dtype)
    (_im2col_parallel if parallel else _im2col_serial)(x, out, g.KH, g.KW, *_strides(g))
    return out


# --------------------------------------------------------------------------------------------- col2im
@njit(cache=True, inline="always")
def _col2im_plane(cp, xp, pad, SH, SW, PH, PW, DH, DW):
    """Columns cp (KH, KW, OH, OW) of one plane -> the plane xp (H, W), overlapping entries summed,
    accumulated in the padded buffer ``pad`` (zeroed here) and cropped."""
    H, W = xp.shape
    KH, KW, OH, OW = cp.shape
    pad[:, :] = 0
    for kh in range(KH):
        for kw in range(KW):
            if OW < 16:        # narrow maps: unsigned indexes (no wraparound test) instead of row views
                for oh in range(OH):
                    r, c0 = np.uint64(oh * SH + kh * DH), kw * DW
                    for ow in range(OW):
                        pad[r, np.uint64(c0 + ow * SW)] += cp[kh, kw, oh, ow]
                continue
            for oh in range(OH):
                src = cp[kh, kw, oh]
                if SW == 1:
                    dst = pad[oh * SH + kh * DH, kw * DW:]
                    for ow in range(OW):
                        dst[ow] += src[ow]
                else:
                    dst = pad[oh * SH + kh * DH, kw * DW::SW]
                    for ow in range(OW):
                        dst[ow] += src[ow]
    for ih in range(H):
        prow, xrow = pad[PH + ih, PW:], xp[ih]
        for iw in range(W):
            xrow[iw] = prow[iw]


@njit(parallel=True, cache=True, nogil=True)
def _col2im_parallel(col, x, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW, OH, OW = col.shape[2:]
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    for p in prange(N * C):
        pad = np.empty((Hp, Wp), dtype=x.dtype)
        _col2im_plane(col[p // C, p % C], x[p // C, p % C], pad, SH, SW, PH, PW, DH, DW)


@njit(cache=True, nogil=True)
def _col2im_serial(col, x, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW, OH, OW = col.shape[2:]
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    pad = np.empty((Hp, Wp), dtype=x.dtype)
    for p in range(N * C):
        _col2im_plane(col[p // C, p % C], x[p // C, p % C], pad, SH, SW, PH, PW, DH, DW)


def col2im(col, g, *, out=None, parallel=True):
    """col (N, C, KH, KW, OH, OW) -> x (N, C, H, W), summing every column entry into its input pixel.

    ``out``, if given, is a C-contiguous (N, C, H, W) array (e.g. a batch slice of a bigger result),
    overwritten and returned. ``parallel=False`` runs on the calling thread only.
    """
    col = np.ascontiguousarray(col)
    if out is None:
        out = np.empty((col.shape[0], col.shape[1], g.H, g.W), dtype=col.dtype)
    (_col2im_parallel if parallel else _col2im_serial)(col, out, *_strides(g))
    return out


# ------------------------------------------------------------------------------------- depthwise
# A depthwise convolution (one input and one output channel per group: MobileNet) does KH*KW multiply-adds
# per output; im2col would write KH*KW copies of the input to feed a GEMM with an inner size of KH*KW.
# These kernels read x and write y once. w is (C, KH, KW).
# reassociation lets LLVM vectorise the weight kernel's dot products; no assumptions about NaN/inf
_FAST = {"reassoc", "contract", "arcp", "nsz"}


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _depthwise_forward(x, w, y, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW = w.shape[1], w.shape[2]
    OH, OW = y.shape[2], y.shape[3]
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    for p in prange(N * C):
        n, c = p // C, p % C
        pad = np.zeros((Hp, Wp), dtype=x.dtype)      # the zero-padded plane: no bounds tests below
        pad[PH:PH + H, PW:PW + W] = x[n, c]
        for oh in range(OH):
            yr = y[n, c, oh]                        # one output row, all taps accumulated while in L1
            yr[:] = 0
            for kh in range(KH):
                pr = pad[oh * SH + kh * DH]
                for kw in range(KW):
                    wk = w[c, kh, kw]
                    if SW == 1:
                        src = pr[kw * DW:]          # a contiguous view indexed from 0: vectorises
                        for ow in range(OW):
                            yr[ow] += wk * src[ow]
                    else:
                        src = pr[kw * DW::SW]
                        for ow in range(OW):
                            yr[ow] += wk * src[ow]


def depthwise_forward(x, w, g):
    """x (N, C, H, W), w (C, KH, KW) -> y (N, C, OH, OW), y[n, c] = sum over kh, kw of w[c, kh, kw] *
    x[n, c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW] (zero outside)."""
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w, dtype=x.dtype)
    y = np.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    _depthwise_forward(x, w, y, *_strides(g))
    return y


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _depthwise_transpose(gy, w, gx, SH, SW, PH, PW, DH, DW):
    N, C, H, W = gx.shape
    KH, KW = w.shape[1], w.shape[2]
    OH, OW = gy.shape[2], gy.shape[3]
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    for p in prange(N * C):
        n, c = p // C, p % C
        pad = np.zeros((Hp, Wp), dtype=gx.dtype)     # gradient of the padded plane
        for oh in range(OH):
            gr = gy[n, c, oh]
            for kh in range(KH):
                pr = pad[oh * SH + kh * DH]
                for kw in range(KW):
                    wk = w[c, kh, kw]
                    if SW == 1:
                        dst = pr[kw * DW:]
                        for ow in range(OW):
                            dst[ow] += wk * gr[ow]
                    else:
                        dst = pr[kw * DW::SW]
                        for ow in range(OW):
                            dst[ow] += wk * gr[ow]
        gx[n, c] = pad[PH:PH + H, PW:PW + W]


def depthwise_transpose(gy, w, g):
    """The adjoint of depthwise_forward in x: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    gy, w = np.ascontiguousarray(gy), np.ascontiguousarray(w, dtype=gy.dtype)
    gx = np.empty(gy.shape[:2] + (g.H, g.W), dtype=gy.dtype)
    _depthwise_transpose(gy, w, gx, *_strides(g))
    return gx


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _depthwise_weight(x, gy, gw, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    KH, KW = gw.shape[1], gw.shape[2]
    OH, OW = gy.shape[2], gy.shape[3]
    Hp, Wp = _padded_size(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    for c in prange(C):                    # each thread owns whole channels: no races on gw
        pad = np.zeros((Hp, Wp), dtype=x.dtype)
        acc = np.zeros((KH, KW))
        for n in range(N):
            pad[PH:PH + H, PW:PW + W] = x[n, c]
            for oh in range(OH):
                gr = gy[n, c, oh]
                for kh in range(KH):
                    pr = pad[oh * SH + kh * DH]
                    for kw in range(KW):
                        s = 0.0
                        if SW == 1:
                            src = pr[kw * DW:]
                            for ow in range(OW):
                                s += gr[ow] * src[ow]
                        else:
                            src = pr[kw * DW::SW]
                            for ow in range(OW):
                                s += gr[ow] * src[ow]
                        acc[kh, kw] += s
        for kh in range(KH):
            for kw in range(KW):
                gw[c, kh, kw] = acc[kh, kw]


def depthwise_weight(x, gy, g):
    """The adjoint of depthwise_forward in w: (x, gy) -> gw (C, KH, KW)."""
    x, gy = np.ascontiguousarray(x), np.ascontiguousarray(gy)
    gw = np.empty((x.shape[1], g.KH, g.KW), dtype=x.dtype)
    _depthwise_weight(x, gy, gw, *_strides(g))
    return gw


# ------------------------------------------------------------------------------------------ max pool
@njit(parallel=True, cache=True, nogil=True)
def _maxpool2d_forward(x, y, idx, KH, KW, SH, SW, PH, PW, DH, DW):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for p in prange(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            h0 = oh * SH - PH
            kh0 = -(h0 // DH) if h0 < 0 else 0      # first kh with h0 + kh*DH >= 0
            for ow in range(OW):
                w0 = ow * SW - PW
                kw0 = -(w0 // DW) if w0 < 0 else 0
                best = -np.inf
                arg = (h0 + kh0 * DH) * W + (w0 + kw0 * DW)   # PyTorch: first valid position
                for kh in range(kh0, KH):
                    ih = h0 + kh * DH
                    if ih >= H:
                        break
                    for kw in range(kw0, KW):
                        iw = w0 + kw * DW
                        if iw >= W:
                            break
                        v = x[n, c, ih, iw]
                        if v > best or np.isnan(v):     # first maximum wins ties; NaN propagates
                            best = v
                            arg = ih * W + iw
                y[n, c, oh, ow] = best
                idx[n, c, oh, ow] = arg


def maxpool2d_forward(x, g):
    """x (N, C, H, W) -> (y, idx), both (N, C, OH, OW); idx is the flat position ih*W + iw of each max."""
    x = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    y = np.empty((N, C, g.OH, g.OW), dtype=x.dtype)
    idx = np.empty((N, C, g.OH, g.OW), dtype=np.int64)
    _maxpool2d_forward(x, y, idx, g.KH, g.KW, *_strides(g))
    return y, idx


@njit(parallel=True, cache=True, nogil=True)
def _maxpool2d_backward(gy, idx, gx):
    N, C, OH, OW = gy.shape
    for p in prange(N * C):
        n, c = p // C, p % C
        g = gx[n, c]
        g[:] = 0
        HW = g.shape[0]
        for oh in range(OH):
            for ow in range(OW):
                i = idx[n, c, oh, ow]
                if 0 <= i < HW:        # a window wholly in the padding reports an index past the plane
                    g[i] += gy[n, c, oh, ow]


def maxpool2d_backward(gy, idx, g):
    """Send each gy[n, c, oh, ow] to the flat position idx[n, c, oh, ow] of its plane: gx (N, C, H, W)."""
    gy = np.ascontiguousarray(gy)
    idx = np.ascontiguousarray(idx)
    N, C = gy.shape[:2]
    gx = np.empty((N, C, g.H * g.W), dtype=gy.dtype)
    _maxpool2d_backward(gy, idx, gx)
    return gx.reshape(N, C, g.H, g.W)


@njit(parallel=True, cache=True, nogil=True)
def _maxpool2d_gather(gx, idx, gy):
    N, C, OH, OW = gy.shape
    for p in prange(N * C):
        n, c = p // C, p % C
        g = gx[n, c]
        HW = g.shape[0]
        for oh in range(OH):
            for ow in range(OW):
                i = idx[n, c, oh, ow]
                gy[n, c, oh, ow] = g[i] if 0 <= i < HW else 0


def maxpool2d_gather(gx, idx, g):
    """The adjoint of maxpool2d_backward: gy[n, c, oh, ow] = gx[n, c].flat[idx[n, c, oh, ow]]."""
    N, C = gx.shape[:2]
    gx = np.ascontiguousarray(gx).reshape(N, C, -1)
    gy = np.empty(idx.shape, dtype=gx.dtype)
    _maxpool2d_gather(gx, np.ascontiguousarray(idx), gy)
    return gy


@njit(parallel=True, cache=True, nogil=True)
def _adaptive_maxpool2d_forward(x, y, idx):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for p in prange(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            h0, h1 = (oh * H) // OH, ((oh + 1) * H + OH - 1) // OH
            for ow in range(OW):
                w0, w1 = (ow * W) // OW, ((ow + 1) * W + OW - 1) // OW
                best = -np.inf
                arg = h0 * W + w0
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        v = x[n, c, ih, iw]
                        if v > best or np.isnan(v):
                            best = v
                            arg = ih * W + iw
                y[n, c, oh, ow] = best
                idx[n, c, oh, ow] = arg


def adaptive_maxpool2d_forward(x, g):
    """x (N, C, H, W) -> (y, idx) over windows [floor(i*H/OH), ceil((i+1)*H/OH)) (only g's plane sizes
    count: ``Geometry.adaptive``); idx as in maxpool2d."""
    x = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    y = np.empty((N, C, g.OH, g.OW), dtype=x.dtype)
    idx = np.empty((N, C, g.OH, g.OW), dtype=np.int64)
    _adaptive_maxpool2d_forward(x, y, idx)
    return y, idx


# ------------------------------------------------------------------------------------------ avg pool
@njit(cache=True, inline="always")
def _avg_window(o, S, P, K, L):
    """PyTorch's avg-pool window: clipped [start, end) in the input and the count_include_pad size."""
    start = o * S - P
    end = min(start + K, L + P)
    size = end - start
    return max(start, 0), min(end, L), size


@njit(parallel=True, cache=True, nogil=True)
def _avgpool2d_forward(x, y, KH, KW, SH, SW, PH, PW, count_include_pad, divisor_override):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for p in prange(N * C):
        n, c = p // C, p % C
        for oh in range(OH):
            h0, h1, hs = _avg_window(oh, SH, PH, KH, H)
            for ow in range(OW):
                w0, w1, ws = _avg_window(ow, SW, PW, KW, W)
                if h0 >= h1 or w0 >= w1:
                    y[n, c, oh, ow] = 0
                    continue
                s = 0.0
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        s += x[n, c, ih, iw]
                if divisor_override > 0:
                    d = divisor_override
                elif count_include_pad:
                    d = hs * ws
                else:
                    d = (h1 - h0) * (w1 - w0)
                y[n, c, oh, ow] = s / d


def avgpool2d_forward(x, g, *, count_include_pad=True, divisor_override=0):
    """x (N, C, H, W) -> y (N, C, OH, OW): window sums over the divisor PyTorch uses (0 = no override)."""
    x = np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    _avgpool2d_forward(x, y, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, bool(count_include_pad),
                       int(divisor_override or 0))
    return y


@njit(parallel=True, cache=True, nogil=True)
def _avgpool2d_backward(gy, gx, KH, KW, SH, SW, PH, PW, count_include_pad, divisor_override):
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for p in prange(N * C):
        n, c = p // C, p % C
        gx[n, c] = 0
        for oh in range(OH):
            h0, h1, hs = _avg_window(oh, SH, PH, KH, H)
            for ow in range(OW):
                w0, w1, ws = _avg_window(ow, SW, PW, KW, W)
                if h0 >= h1 or w0 >= w1:
                    continue
                if divisor_override > 0:
                    d = divisor_override
                elif count_include_pad:
                    d = hs * ws
                else:
                    d = (h1 - h0) * (w1 - w0)
                g = gy[n, c, oh, ow] / d
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        gx[n, c, ih, iw] += g


def avgpool2d_backward(gy, g, *, count_include_pad=True, divisor_override=0):
    """The adjoint of avgpool2d_forward: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    gy = np.ascontiguousarray(gy)
    gx = np.empty(gy.shape[:2] + (g.H, g.W), dtype=gy.dtype)
    _avgpool2d_backward(gy, gx, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, bool(count_include_pad),
                        int(divisor_override or 0))
    return gx


# ------------------------------------------------------------------------------------------ batch norm
# Per-channel kernels on x viewed as (N, C, L): threads own whole channels. The statistics are one pass
# (sums of x - k and its square, k the channel's first value, so the variance does not cancel when
# |mean| >> std; each row's sums in x's dtype, the rows' in float64); normalise + affine is a second pass,
# y = x * scale[c] + shift[c].
@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _bn_stats(x, mean, var):
    N, C, L = x.shape
    M = N * L
    for c in prange(C):
        k = x[0, c, 0]
        s, q = 0.0, 0.0
        for n in range(N):
            row = x[n, c]
            rs, rq = row.dtype.type(0), row.dtype.type(0)   # a row in x's dtype (it vectorises: 1.8x),
            for i in range(L):                               # the rows summed in float64
                d = row[i] - k
                rs += d
                rq += d * d
            s += rs
            q += rq
        m = s / M
        mean[c] = k + m
        var[c] = max(q / M - m * m, 0.0)


def batch_norm_stats(x):
    """x (N, C, L) -> (mean, var) per channel over (N, L), float64, the variance biased."""
    x = np.ascontiguousarray(x)
    mean, var = np.empty(x.shape[1]), np.empty(x.shape[1])
    _bn_stats(x, mean, var)
    return mean, var


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _bn_affine(x, scale, shift, y):
    N, C, L = x.shape
    for p in prange(N * C):
        a, b = scale[p % C], shift[p % C]
        src, dst = x[p // C, p % C], y[p // C, p % C]
        for i in range(L):
            dst[i] = src[i] * a + b


def batch_norm_affine(x, scale, shift):
    """x (N, C, L) -> x * scale[c] + shift[c] (scale, shift (C,)), in x's dtype."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _bn_affine(x, scale.astype(x.dtype, copy=False), shift.astype(x.dtype, copy=False), y)
    return y


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _bn_grad_sums(gy, x, mean, sg, sgd):
    N, C, L = x.shape
    for c in prange(C):
        m = x.dtype.type(mean[c])
        s, t = 0.0, 0.0
        for n in range(N):
            grow, xrow = gy[n, c], x[n, c]
            rs, rt = gy.dtype.type(0), gy.dtype.type(0)     # as in _bn_stats: rows in the arrays' dtype
            for i in range(L):
                g = grow[i]
                rs += g
                rt += g * (xrow[i] - m)
            s += rs
            t += rt
        sg[c], sgd[c] = s, t


def batch_norm_grad_sums(gy, x, mean):
    """gy, x (N, C, L), mean (C,) -> (sum of gy, sum of gy * (x - mean)) per channel, float64."""
    gy, x = np.ascontiguousarray(gy), np.ascontiguousarray(x)
    sg, sgd = np.empty(x.shape[1]), np.empty(x.shape[1])
    _bn_grad_sums(gy, x, mean, sg, sgd)
    return sg, sgd


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _bn_combine(gy, x, a, b, c, gx):
    N, C, L = x.shape
    for p in prange(N * C):
        ka, kb, kc = a[p % C], b[p % C], c[p % C]
        grow, xrow, dst = gy[p // C, p % C], x[p // C, p % C], gx[p // C, p % C]
        for i in range(L):
            dst[i] = grow[i] * ka + xrow[i] * kb + kc


def batch_norm_combine(gy, x, a, b, c):
    """gy, x (N, C, L) -> gy * a[c] + x * b[c] + c[c] (the input gradient of a training batch norm)."""
    gy, x = np.ascontiguousarray(gy), np.ascontiguousarray(x)
    gx = np.empty_like(x)
    t = x.dtype
    _bn_combine(gy, x, a.astype(t, copy=False), b.astype(t, copy=False), c.astype(t, copy=False), gx)
    return gx


# ------------------------------------------------------------------------------------------------ relu
@njit(parallel=True, cache=True, nogil=True)
def _relu_backward(gy, y, gx):
    for i in prange(gy.size):
        gx[i] = gy[i] * (y[i] > 0)


def relu_backward(gy, y):
    """gy where y > 0, else 0 (y = relu(x): the gradient of relu through its output), one pass."""
    if gy.dtype != y.dtype or gy.dtype.kind != "f" or gy.itemsize < 4:     # float16 and mixed: NumPy
        return (gy * (y > 0)).astype(gy.dtype, copy=False)
    gy, y = np.ascontiguousarray(gy), np.ascontiguousarray(y)
    gx = np.empty_like(gy)
    _relu_backward(gy.reshape(-1), y.reshape(-1), gx.reshape(-1))
    return gx
