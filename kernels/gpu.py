"""GPU kernels in CuPy: the same names and signatures as ``cpu.py`` and ``reference.py``.

One CUDA thread per output element. col2im and the average-pool backward gather (each input pixel sums
the column entries that read it), so they need no atomics; the max-pool backward scatters with atomicAdd.
CuPy is imported on first use, so this module imports on machines without it.
"""
import functools

from .geometry import Geometry  # noqa: F401  (the type every kernel takes)


@functools.lru_cache(maxsize=None)
def _kernel(name):
    import cupy as cp
    src = _SOURCES[name]
    return cp.ElementwiseKernel(src[0], src[1], src[2], "minigrad_" + name)


_GEOM = ("int32 H, int32 W, int32 OH, int32 OW, int32 KH, int32 KW, int32 SH, int32 SW, "
         "int32 PH, int32 PW, int32 DH, int32 DW")

_SOURCES = {
    "im2col": (
        "raw T x, " + _GEOM, "T col",
        """
        const long long ow = i % OW, oh = i / OW % OH;
        const long long kw = i / ((long long)OW * OH) % KW, kh = i / ((long long)OW * OH * KW) % KH;
        const long long nc = i / ((long long)OW * OH * KW * KH);
        const long long ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
        col = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[(nc * H + ih) * W + iw] : (T)0;
        """),
    "col2im": (
        "raw T col, " + _GEOM, "T x",
        """
        const long long iw = i % W, ih = i / W % H, nc = i / ((long long)W * H);
        T s = 0;
        for (int kh = 0; kh < KH; ++kh) {
            long long oh = ih + PH - (long long)kh * DH;
            if (oh < 0 || oh % SH != 0) continue;
            oh /= SH;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw) {
                long long ow = iw + PW - (long long)kw * DW;
                if (ow < 0 || ow % SW != 0) continue;
                ow /= SW;
                if (ow >= OW) continue;
                s += col[(((nc * KH + kh) * KW + kw) * OH + oh) * OW + ow];
            }
        }
        x = s;
        """),
    "maxpool_fwd": (
        "raw T x, " + _GEOM, "T y, int64 idx",
        """
        const long long ow = i % OW, oh = i / OW % OH, nc = i / ((long long)OW * OH);
        const int h0 = oh * SH - PH, w0 = ow * SW - PW;
        const int kh0 = h0 < 0 ? (-h0 + DH - 1) / DH : 0, kw0 = w0 < 0 ? (-w0 + DW - 1) / DW : 0;
        T best = -(T)__int_as_float(0x7f800000);   // -inf
        long long arg = (long long)(h0 + kh0 * DH) * W + (w0 + kw0 * DW);
        const T* p = &x[nc * H * W];
        for (int kh = kh0; kh < KH; ++kh) {
            const int ih = h0 + kh * DH;
            if (ih >= H) break;
            for (int kw = kw0; kw < KW; ++kw) {
                const int iw = w0 + kw * DW;
                if (iw >= W) break;
                const T v = p[ih * W + iw];
                if (v > best || isnan(v)) { best = v; arg = (long long)ih * W + iw; }
            }
        }
        y = best;
        idx = arg;
        """),
    "adaptive_maxpool_fwd": (
        "raw T x, int32 H, int32 W, int32 OH, int32 OW", "T y, int64 idx",
        """
        const long long ow = i % OW, oh = i / OW % OH, nc = i / ((long long)OW * OH);
        const int h0 = (oh * H) / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
        const int w0 = (ow * W) / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        T best = -(T)__int_as_float(0x7f800000);   // -inf
        long long arg = (long long)h0 * W + w0;
        const T* p = &x[nc * H * W];
        for (int ih = h0; ih < h1; ++ih)
            for (int iw = w0; iw < w1; ++iw) {
                const T v = p[ih * W + iw];
                if (v > best || isnan(v)) { best = v; arg = (long long)ih * W + iw; }
            }
        y = best;
        idx = arg;
        """),
    "maxpool_bwd": (
        "T gy, int64 idx, int64 HW, int64 OHW", "raw T gx",
        "if (idx >= 0 && idx < HW) atomicAdd(&gx[(i / OHW) * HW + idx], gy);"),
    "maxpool_gather": (
        "raw T gx, int64 idx, int64 HW, int64 OHW", "T gy",
        "gy = (idx >= 0 && idx < HW) ? gx[(i / OHW) * HW + idx] : (T)0;"),
    "avgpool_fwd": (
        "raw T x, int32 H, int32 W, int32 OH, int32 OW, int32 KH, int32 KW, int32 SH, int32 SW, "
        "int32 PH, int32 PW, bool cip, int32 div", "T y",
        """
        const long long ow = i % OW, oh = i / OW % OH, nc = i / ((long long)OW * OH);
        int h0 = oh * SH - PH, w0 = ow * SW - PW;
        int h1 = min(h0 + KH, H + PH), w1 = min(w0 + KW, W + PW);
        const int padded = (h1 - h0) * (w1 - w0);
        h0 = max(h0, 0); w0 = max(w0, 0); h1 = min(h1, H); w1 = min(w1, W);
        double s = 0;
        for (int ih = h0; ih < h1; ++ih)
            for (int iw = w0; iw < w1; ++iw) s += x[(nc * H + ih) * W + iw];
        const int d = div > 0 ? div : (cip ? padded : (h1 - h0) * (w1 - w0));
        y = (h0 >= h1 || w0 >= w1) ? (T)0 : (T)(s / d);
        """),
    "avgpool_bwd": (
        "raw T gy, int32 H, int32 W, int32 OH, int32 OW, int32 KH, int32 KW, int32 SH, int32 SW, "
        "int32 PH, int32 PW, bool cip, int32 div", "T gx",
        """
        const int iw = i % W, ih = i / W % H;
        const long long nc = i / ((long long)W * H);
        // the outputs whose window [o*S - P, o*S - P + K) holds this pixel
        const int oh_lo = max(0, (ih + PH - KH + SH) / SH), oh_hi = min(OH - 1, (ih + PH) / SH);
        const int ow_lo = max(0, (iw + PW - KW + SW) / SW), ow_hi = min(OW - 1, (iw + PW) / SW);
        double s = 0;
        for (int oh = oh_lo; oh <= oh_hi; ++oh) {
            int h0 = oh * SH - PH, h1 = min(h0 + KH, H + PH);
            const int hp = h1 - h0;
            h0 = max(h0, 0); h1 = min(h1, H);
            for (int ow = ow_lo; ow <= ow_hi; ++ow) {
                int w0 = ow * SW - PW, w1 = min(w0 + KW, W + PW);
                const int wp = w1 - w0;
                w0 = max(w0, 0); w1 = min(w1, W);
                const int d = div > 0 ? div : (cip ? hp * wp : (h1 - h0) * (w1 - w0));
                s += (double)gy[(nc * OH + oh) * OW + ow] / d;
            }
        }
        gx = (T)s;
        """),
}


def _cp():
    import cupy
    return cupy


def _geom(g):
    """The kernels' geometry arguments, in the order of ``_GEOM``."""
    return g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW


def im2col(x, g, *, out=None, parallel=True):
    """x (N, C, H, W) -> col (N, C, KH, KW, OH, OW); ``out`` a C-contiguous array to fill."""
    cp = _cp()
    x = cp.ascontiguousarray(x)
    if out is None:
        out = cp.empty(x.shape[:2] + (g.KH, g.KW, g.OH, g.OW), dtype=x.dtype)
    _kernel("im2col")(x, *_geom(g), out)
    return out


def col2im(col, g, *, out=None, parallel=True):
    """col (N, C, KH, KW, OH, OW) -> x (N, C, H, W), the adjoint of im2col."""
    cp = _cp()
    col = cp.ascontiguousarray(col)
    if out is None:
        out = cp.empty(col.shape[:2] + (g.H, g.W), dtype=col.dtype)
    _kernel("col2im")(col, *_geom(g), out)
    return out


def depthwise_forward(x, w, g):
    """x (N, C, H, W), w (C, KH, KW) -> y (N, C, OH, OW) (im2col + a batched contraction on the GPU)."""
    return _cp().einsum("nckhij,ckh->ncij", im2col(x, g), w.astype(x.dtype, copy=False))


def depthwise_transpose(gy, w, g):
    """The adjoint of depthwise_forward in x."""
    return col2im(_cp().einsum("ncij,ckh->nckhij", gy, w.astype(gy.dtype, copy=False)), g)


def depthwise_weight(x, gy, g):
    """The adjoint of depthwise_forward in w: gw (C, KH, KW)."""
    return _cp().einsum("nckhij,ncij->ckh", im2col(x, g), gy)


# On the GPU, chunks only bound memory: as big as the im2col budget allows.
CHUNK_BYTES = 2 ** 62


def workers():
    """Chunks run one after another on the GPU's stream."""
    return 1


def map_chunks(fn, chunks):
    """[fn(start, stop, True) for each chunk], in order (the GPU parallelises inside each kernel)."""
    return [fn(s, e, True) for s, e in chunks]


def maxpool2d_forward(x, g):
    """x (N, C, H, W) -> (y, idx), idx the flat position ih*W + iw of each window's (first) maximum."""
    cp = _cp()
    x = cp.ascontiguousarray(x)
    y = cp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    idx = cp.empty(x.shape[:2] + (g.OH, g.OW), dtype=cp.int64)
    _kernel("maxpool_fwd")(x, *_geom(g), y, idx)
    return y, idx


def maxpool2d_backward(gy, idx, g):
    """gx (N, C, H, W) with each gy[n, c, oh, ow] added at flat position idx[n, c, oh, ow]."""
    cp = _cp()
    gy, idx = cp.ascontiguousarray(gy), cp.ascontiguousarray(idx)
    gx = cp.zeros(gy.shape[:2] + (g.H, g.W), dtype=gy.dtype)
    _kernel("maxpool_bwd")(gy, idx, g.H * g.W, gy.shape[2] * gy.shape[3], gx)
    return gx


def maxpool2d_gather(gx, idx, g):
    """The adjoint of maxpool2d_backward: gy[n, c, oh, ow] = gx[n, c].flat[idx[n, c, oh, ow]]."""
    cp = _cp()
    gx, idx = cp.ascontiguousarray(gx), cp.ascontiguousarray(idx)
    gy = cp.empty(idx.shape, dtype=gx.dtype)
    _kernel("maxpool_gather")(gx, idx, gx.shape[2] * gx.shape[3], idx.shape[2] * idx.shape[3], gy)
    return gy


def adaptive_maxpool2d_forward(x, g):
    """Adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH)) (only g's plane sizes count); returns (y, idx)
    as maxpool2d_forward."""
    cp = _cp()
    x = cp.ascontiguousarray(x)
    y = cp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    idx = cp.empty(x.shape[:2] + (g.OH, g.OW), dtype=cp.int64)
    _kernel("adaptive_maxpool_fwd")(x, g.H, g.W, g.OH, g.OW, y, idx)
    return y, idx


def avgpool2d_forward(x, g, *, count_include_pad=True, divisor_override=0):
    """x (N, C, H, W) -> y (N, C, OH, OW) with PyTorch's divisor (0 = no override)."""
    cp = _cp()
    x = cp.ascontiguousarray(x)
    y = cp.empty(x.shape[:2] + (g.OH, g.OW), dtype=x.dtype)
    _kernel("avgpool_fwd")(x, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW,
                           bool(count_include_pad), int(divisor_override or 0), y)
    return y


def avgpool2d_backward(gy, g, *, count_include_pad=True, divisor_override=0):
    """The adjoint of avgpool2d_forward: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    cp = _cp()
    gy = cp.ascontiguousarray(gy)
    gx = cp.empty(gy.shape[:2] + (g.H, g.W), dtype=gy.dtype)
    _kernel("avgpool_bwd")(gy, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW,
                           bool(count_include_pad), int(divisor_override or 0), gx)
    return gx
