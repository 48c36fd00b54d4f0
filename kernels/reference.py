"""Reference kernels in plain NumPy: the oracle for ``cpu.py`` and ``gpu.py``, and a complete backend.

Every kernel is written the way the textbooks teach it: a loop over the KH*KW kernel offsets, each one
strided slice of a padded copy of the input, vectorised over (N, C, OH, OW). Slow next to the Numba
kernels, but obviously right, and fast enough that ``MINIGRAD_KERNELS=reference`` runs the whole test
suite on it. Same names and signatures as ``cpu.py`` and ``gpu.py``; the geometry is ``geometry.Geometry``
(output (oh, ow) and offset (kh, kw) read input row ``oh*SH - PH + kh*DH``, column ``ow*SW - PW + kw*DW``).
"""
import numpy as np

from .geometry import Geometry  # noqa: F401  (the type every kernel takes)


def _padded(x, g, fill):
    """x (N, C, H, W) at (PH, PW) in a plane of ``g.padded_size`` filled with ``fill`` elsewhere."""
    Hp, Wp = g.padded_size
    xp = np.full(x.shape[:2] + (Hp, Wp), fill, dtype=x.dtype)
    xp[:, :, g.PH:g.PH + g.H, g.PW:g.PW + g.W] = x
    return xp


def _offsets(g):
    """(kh, kw, rows, cols): each kernel offset in scan order with the padded-plane slices it reads."""
    for kh in range(g.KH):
        for kw in range(g.KW):
            h, w = kh * g.DH, kw * g.DW
            yield kh, kw, slice(h, h + g.SH * (g.OH - 1) + 1, g.SH), slice(w, w + g.SW * (g.OW - 1) + 1, g.SW)


def _result(value, out):
    if out is None:
        return value
    out[...] = value
    return out


# ------------------------------------------------------------------------------------- im2col, col2im
def im2col(x, g, *, out=None, parallel=True):
    """x (N, C, H, W) -> col (N, C, KH, KW, OH, OW): col[:, :, kh, kw] is the input seen at offset (kh, kw)
    (zero outside the image). ``out``: a C-contiguous array to fill and return."""
    xp = _padded(x, g, 0)
    col = np.empty(x.shape[:2] + (g.KH, g.KW, g.OH, g.OW), dtype=x.dtype) if out is None else out
    for kh, kw, rows, cols in _offsets(g):
        col[:, :, kh, kw] = xp[:, :, rows, cols]
    return col


def col2im(col, g, *, out=None, parallel=True):
    """The adjoint of im2col: col (N, C, KH, KW, OH, OW) -> x (N, C, H, W), every entry summed into the
    pixel it came from."""
    xp = np.zeros(col.shape[:2] + g.padded_size, dtype=col.dtype)
    for kh, kw, rows, cols in _offsets(g):
        xp[:, :, rows, cols] += col[:, :, kh, kw]
    return _result(xp[:, :, g.PH:g.PH + g.H, g.PW:g.PW + g.W], out)


# ------------------------------------------------------------------------------------------ depthwise
def depthwise_forward(x, w, g):
    """x (N, C, H, W), w (C, KH, KW) -> y (N, C, OH, OW): each channel convolved with its own kernel."""
    return np.einsum("nckhij,ckh->ncij", im2col(x, g), w.astype(x.dtype, copy=False))


def depthwise_transpose(gy, w, g):
    """The adjoint of depthwise_forward in x: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    return col2im(np.einsum("ncij,ckh->nckhij", gy, w.astype(gy.dtype, copy=False)), g)


def depthwise_weight(x, gy, g):
    """The adjoint of depthwise_forward in w: (x, gy) -> gw (C, KH, KW)."""
    return np.einsum("nckhij,ncij->ckh", im2col(x, g), gy)


# --------------------------------------------------------------------------------------------- batches
# The reference runs a convolution's batch chunks one after another; chunks only bound memory.
CHUNK_BYTES = 2 ** 62


def workers():
    """Chunks run one at a time."""
    return 1


def map_chunks(fn, chunks):
    """[fn(start, stop, True) for each chunk], in order."""
    return [fn(s, e, True) for s, e in chunks]


from .threads import blas_one_thread  # noqa: E402,F401  (NumPy's BLAS on one thread: as the CPU kernels)


# ------------------------------------------------------------------------------------------- max pool
def _argmax_scan(values, positions, start):
    """PyTorch's rule over the candidates of a window in scan order: a value replaces the best so far if it
    is larger or NaN (the first maximum wins ties; a NaN wins over everything). ``values``: arrays, -inf
    where a position is skipped; ``positions``: their flat indices; ``start``: the index reported when no
    value beats -inf. Returns (best, arg)."""
    best = arg = None
    for v, p in zip(values, positions):
        if best is None:
            best = np.full(v.shape, -np.inf, dtype=v.dtype)
            arg = np.broadcast_to(start, v.shape).astype(np.int64)
        take = (v > best) | np.isnan(v)
        best, arg = np.where(take, v, best), np.where(take, p, arg)
    return best, arg


def maxpool2d_forward(x, g):
    """x (N, C, H, W) -> (y, idx), both (N, C, OH, OW); idx is the flat position ih*W + iw of each max. A
    window with nothing above -inf reports its first in-range offset, even one past the input (PyTorch)."""
    xp = _padded(x, g, -np.inf)
    h0 = np.arange(g.OH) * g.SH - g.PH
    w0 = np.arange(g.OW) * g.SW - g.PW
    first_h = h0 + np.where(h0 < 0, -(h0 // g.DH), 0) * g.DH       # the first offset with ih >= 0
    first_w = w0 + np.where(w0 < 0, -(w0 // g.DW), 0) * g.DW
    values = [xp[:, :, rows, cols] for _, _, rows, cols in _offsets(g)]
    positions = [(h0 + kh * g.DH)[:, None] * g.W + (w0 + kw * g.DW)[None, :] for kh, kw, _, _ in _offsets(g)]
    return _argmax_scan(values, positions, first_h[:, None] * g.W + first_w[None, :])


def maxpool2d_backward(gy, idx, g):
    """gx (N, C, H, W) with each gy[n, c, oh, ow] added at flat position idx[n, c, oh, ow] (indices outside
    the plane, from windows wholly in the padding, send nothing)."""
    N, C = gy.shape[:2]
    gx = np.zeros((N * C, g.H * g.W), dtype=gy.dtype)
    plane = np.repeat(np.arange(N * C), g.OH * g.OW)
    flat_idx, flat_gy = idx.reshape(-1), gy.reshape(-1)
    ok = (flat_idx >= 0) & (flat_idx < g.H * g.W)
    np.add.at(gx, (plane[ok], flat_idx[ok]), flat_gy[ok])
    return gx.reshape(N, C, g.H, g.W)


def maxpool2d_gather(gx, idx, g):
    """The adjoint of maxpool2d_backward: gy[n, c, oh, ow] = gx[n, c].flat[idx[n, c, oh, ow]] (0 outside)."""
    N, C = gx.shape[:2]
    flat = gx.reshape(N, C, -1)
    ok = (idx >= 0) & (idx < flat.shape[2])
    picked = np.take_along_axis(flat, np.where(ok, idx, 0).reshape(N, C, -1), axis=2).reshape(idx.shape)
    return np.where(ok, picked, 0).astype(gx.dtype, copy=False)


def adaptive_maxpool2d_forward(x, g):
    """Windows [floor(i*H/OH), ceil((i+1)*H/OH)) in each direction (only g's plane sizes count); returns
    (y, idx) as maxpool2d_forward."""
    N, C, H, W = x.shape
    y = np.empty((N, C, g.OH, g.OW), dtype=x.dtype)
    idx = np.empty((N, C, g.OH, g.OW), dtype=np.int64)
    for oh in range(g.OH):
        rows = range((oh * H) // g.OH, -(-((oh + 1) * H) // g.OH))
        for ow in range(g.OW):
            cols = range((ow * W) // g.OW, -(-((ow + 1) * W) // g.OW))
            best, arg = _argmax_scan((x[:, :, ih, iw] for ih in rows for iw in cols),
                                     [ih * W + iw for ih in rows for iw in cols], rows[0] * W + cols[0])
            y[:, :, oh, ow], idx[:, :, oh, ow] = best, arg
    return y, idx


# ------------------------------------------------------------------------------------------- avg pool
def avgpool2d_forward(x, g, *, count_include_pad=True, divisor_override=0):
    """x (N, C, H, W) -> y (N, C, OH, OW): window sums over PyTorch's divisor (0 = no override); a window
    with no input pixel (ceil_mode) gives 0."""
    xp = _padded(x, g, 0)
    s = sum(xp[:, :, rows, cols] for _, _, rows, cols in _offsets(g))
    d = g.avgpool_divisors(count_include_pad, divisor_override)
    return np.where(d > 0, s / np.where(d > 0, d, 1), 0).astype(x.dtype, copy=False)


def avgpool2d_backward(gy, g, *, count_include_pad=True, divisor_override=0):
    """The adjoint of avgpool2d_forward: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    d = g.avgpool_divisors(count_include_pad, divisor_override)
    share = np.where(d > 0, gy / np.where(d > 0, d, 1), 0).astype(gy.dtype, copy=False)
    xp = np.zeros(gy.shape[:2] + g.padded_size, dtype=gy.dtype)
    for _, _, rows, cols in _offsets(g):
        xp[:, :, rows, cols] += share
    return xp[:, :, g.PH:g.PH + g.H, g.PW:g.PW + g.W].copy()


# ------------------------------------------------------------------------------------------ batch norm
# x viewed as (N, C, L); the per-channel vectors (C,) broadcast as (1, C, 1).
def batch_norm_stats(x):
    """x (N, C, L) -> (mean, var) per channel over (N, L), float64, the variance biased."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(0, 2))
    return mean, ((x64 - mean[:, None]) ** 2).mean(axis=(0, 2))


def batch_norm_affine(x, scale, shift):
    """x (N, C, L) -> x * scale[c] + shift[c] (scale, shift (C,)), in x's dtype."""
    return (x * scale[:, None] + shift[:, None]).astype(x.dtype)


def batch_norm_grad_sums(gy, x, mean):
    """gy, x (N, C, L), mean (C,) -> (sum of gy, sum of gy * (x - mean)) per channel, float64."""
    g64 = gy.astype(np.float64)
    return g64.sum(axis=(0, 2)), (g64 * (x - mean[:, None])).sum(axis=(0, 2))


def batch_norm_combine(gy, x, a, b, c):
    """gy, x (N, C, L) -> gy * a[c] + x * b[c] + c[c] (the input gradient of a training batch norm)."""
    return (gy * a[:, None] + x * b[:, None] + c[:, None]).astype(x.dtype)


# ------------------------------------------------------------------------------------------------ relu
def relu_backward(gy, y):
    """gy where y > 0, else 0 (y = relu(x): the gradient of relu through its output)."""
    return (gy * (y > 0)).astype(gy.dtype, copy=False)
