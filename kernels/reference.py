"""Reference kernels: plain loops, slow and obviously right. The oracle for ``cpu.py`` and ``gpu.py``.

Same signatures as the fast kernels. Geometry: output (oh, ow) and kernel offset (kh, kw) read input row
``ih = oh*SH - PH + kh*DH`` and column ``iw = ow*SW - PW + kw*DW``; outside the image is zero (conv) or
skipped (pooling). ``im2col_slices`` / ``col2im_slices`` at the end are the readable NumPy version
(one strided slice per kernel offset) that the textbooks teach.
"""
import numpy as np


def im2col(x, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW):
    """x (N, C, H, W) -> col (N, C, KH, KW, OH, OW)."""
    N, C, H, W = x.shape
    col = np.zeros((N, C, KH, KW, OH, OW), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    for oh in range(OH):
                        for ow in range(OW):
                            ih, iw = oh * SH - PH + kh * DH, ow * SW - PW + kw * DW
                            if 0 <= ih < H and 0 <= iw < W:
                                col[n, c, kh, kw, oh, ow] = x[n, c, ih, iw]
    return col


def col2im(col, H, W, SH, SW, PH, PW, DH, DW):
    """col (N, C, KH, KW, OH, OW) -> x (N, C, H, W): the adjoint of im2col (entries summed)."""
    N, C, KH, KW, OH, OW = col.shape
    x = np.zeros((N, C, H, W), dtype=col.dtype)
    for n in range(N):
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    for oh in range(OH):
                        for ow in range(OW):
                            ih, iw = oh * SH - PH + kh * DH, ow * SW - PW + kw * DW
                            if 0 <= ih < H and 0 <= iw < W:
                                x[n, c, ih, iw] += col[n, c, kh, kw, oh, ow]
    return x


def _max_window(x, n, c, positions, first):
    """PyTorch's rule: the first maximum in scan order wins; a NaN wins over everything. ``first`` is the
    index reported for a window with no valid position (-inf), as PyTorch reports it."""
    H, W = x.shape[2:]
    best, arg = -np.inf, first
    for ih, iw in positions:
        v = x[n, c, ih, iw]
        if v > best or np.isnan(v):
            best, arg = v, ih * W + iw
    return best, arg


def maxpool2d_forward(x, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW):
    """x (N, C, H, W) -> (y, idx), both (N, C, OH, OW); idx is the flat position ih*W + iw of each max."""
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    idx = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    pos = [(oh * SH - PH + kh * DH, ow * SW - PW + kw * DW)
                           for kh in range(KH) for kw in range(KW)]
                    pos = [(ih, iw) for ih, iw in pos if 0 <= ih < H and 0 <= iw < W]
                    h0, w0 = oh * SH - PH, ow * SW - PW
                    h0, w0 = h0 + (-(h0 // DH) * DH if h0 < 0 else 0), w0 + (-(w0 // DW) * DW if w0 < 0 else 0)
                    first = h0 * W + w0       # the first in-range offset, even past the input (PyTorch)
                    y[n, c, oh, ow], idx[n, c, oh, ow] = _max_window(x, n, c, pos, first)
    return y, idx


def maxpool2d_backward(gy, idx, H, W):
    """gx (N, C, H, W) with each gy[n, c, oh, ow] added at flat position idx[n, c, oh, ow] (indices
    outside the plane, from windows that lie wholly in the padding, send nothing)."""
    N, C, OH, OW = gy.shape
    gx = np.zeros((N, C, H * W), dtype=gy.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    if 0 <= idx[n, c, oh, ow] < H * W:
                        gx[n, c, idx[n, c, oh, ow]] += gy[n, c, oh, ow]
    return gx.reshape(N, C, H, W)


def maxpool2d_gather(gx, idx):
    """The adjoint of maxpool2d_backward: gy[n, c, oh, ow] = gx[n, c].flat[idx[n, c, oh, ow]]."""
    N, C, OH, OW = idx.shape
    flat = gx.reshape(N, C, -1)
    gy = np.empty(idx.shape, dtype=gx.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    i = idx[n, c, oh, ow]
                    gy[n, c, oh, ow] = flat[n, c, i] if 0 <= i < flat.shape[2] else 0
    return gy


def adaptive_maxpool2d_forward(x, OH, OW):
    """Windows [floor(i*H/OH), ceil((i+1)*H/OH)) in each direction; returns (y, idx) as maxpool2d."""
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    idx = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    rows = range((oh * H) // OH, -(-((oh + 1) * H) // OH))
                    cols = range((ow * W) // OW, -(-((ow + 1) * W) // OW))
                    pos = [(ih, iw) for ih in rows for iw in cols]
                    y[n, c, oh, ow], idx[n, c, oh, ow] = _max_window(x, n, c, pos, pos[0][0] * W + pos[0][1])
    return y, idx


def _avg_divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW, count_include_pad, divisor_override):
    """PyTorch's avg-pool window (clipped rows, clipped cols) and divisor."""
    h0, w0 = oh * SH - PH, ow * SW - PW
    h1, w1 = min(h0 + KH, H + PH), min(w0 + KW, W + PW)
    padded_size = (h1 - h0) * (w1 - w0)
    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
    if divisor_override:
        d = divisor_override
    elif count_include_pad:
        d = padded_size
    else:
        d = (h1 - h0) * (w1 - w0)
    return range(h0, h1), range(w0, w1), d


def avgpool2d_forward(x, KH, KW, SH, SW, PH, PW, OH, OW, count_include_pad=True, divisor_override=0):
    """x (N, C, H, W) -> y (N, C, OH, OW): window sums over PyTorch's divisor (0 = no override)."""
    N, C, H, W = x.shape
    y = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    rows, cols, d = _avg_divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW,
                                                 count_include_pad, divisor_override)
                    if len(rows) and len(cols):
                        y[n, c, oh, ow] = sum(x[n, c, ih, iw] for ih in rows for iw in cols) / d
    return y


def avgpool2d_backward(gy, H, W, KH, KW, SH, SW, PH, PW, count_include_pad=True, divisor_override=0):
    """The adjoint of avgpool2d_forward: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    N, C, OH, OW = gy.shape
    gx = np.zeros((N, C, H, W), dtype=gy.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    rows, cols, d = _avg_divisor(oh, ow, H, W, KH, KW, SH, SW, PH, PW,
                                                 count_include_pad, divisor_override)
                    for ih in rows:
                        for iw in cols:
                            gx[n, c, ih, iw] += gy[n, c, oh, ow] / d
    return gx


def depthwise_forward(x, w, SH, SW, PH, PW, DH, DW, OH, OW):
    """x (N, C, H, W), w (C, KH, KW) -> y (N, C, OH, OW): each channel convolved with its own kernel."""
    C, KH, KW = w.shape
    col = im2col(x, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)
    return np.einsum("nckhij,ckh->ncij", col, w)


def depthwise_transpose(gy, w, H, W, SH, SW, PH, PW, DH, DW):
    """The adjoint of depthwise_forward in x."""
    col = np.einsum("ncij,ckh->nckhij", gy, w)
    return col2im(col, H, W, SH, SW, PH, PW, DH, DW)


def depthwise_weight(x, gy, KH, KW, SH, SW, PH, PW, DH, DW):
    """The adjoint of depthwise_forward in w: gw (C, KH, KW)."""
    col = im2col(x, KH, KW, SH, SW, PH, PW, DH, DW, gy.shape[2], gy.shape[3])
    return np.einsum("nckhij,ncij->ckh", col, gy)


# ------------------------------------------------------------------ the textbook version, for teaching
def im2col_slices(x, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW):
    """im2col with one strided slice per kernel offset (KH*KW NumPy copies instead of N*C*KH*KW*OH*OW)."""
    N, C, H, W = x.shape
    # pad enough on the bottom/right for every window, then take the window corners with a stride
    PB = max(0, (OH - 1) * SH + (KH - 1) * DH + 1 - H - PH)
    PR = max(0, (OW - 1) * SW + (KW - 1) * DW + 1 - W - PW)
    xp = np.pad(x, ((0, 0), (0, 0), (PH, PB), (PW, PR)))
    col = np.empty((N, C, KH, KW, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            h, w = kh * DH, kw * DW
            col[:, :, kh, kw] = xp[:, :, h:h + SH * (OH - 1) + 1:SH, w:w + SW * (OW - 1) + 1:SW]
    return col


def col2im_slices(col, H, W, SH, SW, PH, PW, DH, DW):
    """col2im as KH*KW strided slice additions (never np.add.at: each slice has distinct targets)."""
    N, C, KH, KW, OH, OW = col.shape
    PB = max(0, (OH - 1) * SH + (KH - 1) * DH + 1 - H - PH)
    PR = max(0, (OW - 1) * SW + (KW - 1) * DW + 1 - W - PW)
    xp = np.zeros((N, C, H + PH + PB, W + PW + PR), dtype=col.dtype)
    for kh in range(KH):
        for kw in range(KW):
            h, w = kh * DH, kw * DW
            xp[:, :, h:h + SH * (OH - 1) + 1:SH, w:w + SW * (OW - 1) + 1:SW] += col[:, :, kh, kw]
    return xp[:, :, PH:PH + H, PW:PW + W].copy()
