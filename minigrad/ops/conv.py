"""Convolution as im2col + GEMM: conv2d, conv_transpose2d, unfold, fold.

Three linear primitives share one geometry (a convolution from x (N, C, H, W) to y (N, O, OH, OW) with
weight (O, C/G, KH, KW)) and are each other's derivatives, so gradients of every order are convolutions:

    Conv2d(x, w)           = y      d/dx: ConvTranspose2d(gy, w)    d/dw: Conv2dWeight(x, gy)
    ConvTranspose2d(u, w)  = x-like d/du: Conv2d(gz, w)             d/dw: Conv2dWeight(gz, u)
    Conv2dWeight(x, gy)    = gw     d/dx: ConvTranspose2d(gy, ggw)  d/dgy: Conv2d(x, ggw)

Each runs as: im2col (the kernels of ``backend.kernels(x)``), one batched GEMM over (batch, groups)
whose output lands directly in NCHW, and col2im for the transposed direction. 1x1 convolutions without
padding skip im2col (plain GEMM); depthwise convolutions with one output channel per input channel use
direct kernels (their GEMM would have an inner size of KH*KW: all copying, no arithmetic). The column
buffer is bounded by a budget (``set_im2col_budget``): the batch runs in chunks whose columns fit it,
on the kernels' thread pool (``map_chunks``), and a sample whose columns alone exceed it runs in blocks
of output rows (each block a convolution over the input rows it reads). float16 on the CPU (Numba has no
half type) is computed in float32 and returned as float16, rounded once, as PyTorch's CPU kernels do.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..kernels.geometry import Geometry
from ._util import batched, ceil_div, float16_in_float32, pair

_budget = 256 * 2 ** 20


def set_im2col_budget(nbytes):
    """Cap the im2col workspace of one conv call at ``nbytes`` (default 256 MiB); returns the old cap.

    A layer whose column buffer would be larger runs its batch in chunks, and a single sample too big for
    the budget runs in blocks of output rows (at least one row each), so the cap holds for any layer.
    """
    global _budget
    nbytes = int(nbytes)
    if nbytes <= 0:
        raise ValueError(f"the im2col budget must be a positive number of bytes, got {nbytes}")
    old, _budget = _budget, nbytes
    return old


def get_im2col_budget():
    """The current im2col workspace cap in bytes."""
    return _budget


def _chunks(N, per_sample_bytes, k):
    """Batch ranges for ``k.map_chunks``: each chunk's columns within the kernels' preferred chunk size
    (``k.CHUNK_BYTES``: small on the CPU, to stay in cache), a multiple of ``k.workers()`` chunks when the
    batch allows, and ``k.workers()`` chunks at a time within the budget (else one at a time)."""
    if N == 0:
        return []
    workers = k.workers()
    per_sample_bytes = max(1, per_sample_bytes)
    if workers * per_sample_bytes > _budget:
        workers = 1
    nb = max(1, min(_budget // workers, k.CHUNK_BYTES) // per_sample_bytes)
    count = min(N, ceil_div(ceil_div(N, nb), workers) * workers)   # a multiple of `workers` chunks
    nb = ceil_div(N, count)                                           # balanced
    return [(s, min(N, s + nb)) for s in range(0, N, nb)]


def _row_blocks(g, per_row_bytes):
    """When one sample's columns exceed the budget: blocks of output rows whose columns fit it, as
    (oh0, oh1, r0, r1, sub-geometry). The block reads input rows [r0, r1) and is itself a convolution
    over them (its top padding what is left of PH above r0; rows past the input stay zero)."""
    rows = max(1, _budget // max(1, per_row_bytes))
    for oh0 in range(0, g.OH, rows):
        oh1 = min(g.OH, oh0 + rows)
        top = oh0 * g.SH - g.PH
        r0 = max(top, 0)
        r1 = max(r0, min(g.H, (oh1 - 1) * g.SH - g.PH + (g.KH - 1) * g.DH + 1))
        yield oh0, oh1, r0, r1, g._replace(PH=r0 - top, H=r1 - r0, OH=oh1 - oh0)


def _too_big_for_one_chunk(C, g, itemsize):
    """Bytes of one output row's columns, when a whole sample's columns exceed the budget (else 0)."""
    per_row = C * g.KH * g.KW * g.OW * itemsize
    return per_row if per_row * g.OH > _budget else 0


# ----------------------------------------------------------------------------- the three array routines

def _subsample(xp, x, g):
    """The columns of a pointwise conv: x at the strided output positions, (N, C, OH*OW)."""
    if g.SH != 1 or g.SW != 1 or g.OH != g.H or g.OW != g.W:
        x = xp.ascontiguousarray(x[:, :, :g.SH * (g.OH - 1) + 1:g.SH, :g.SW * (g.OW - 1) + 1:g.SW])
    return x.reshape(x.shape[0], x.shape[1], g.OH * g.OW)


def _is_depthwise(C, O, G):
    """One input and one output channel per group (MobileNet): direct kernels, no im2col. Other grouped
    convolutions, depthwise with a channel multiplier included, take one batched GEMM over the groups."""
    return G > 1 and C == G and O == G


def conv_forward(x, w, g: Geometry, G):
    """y (N, O, OH, OW) = sum over c, kh, kw of w[o, c, kh, kw] * x[n, c, oh*SH - PH + kh*DH, ...]."""
    xp, k = backend.xp_of(x), backend.kernels(x)
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    L = g.OH * g.OW
    wg = w.reshape(G, O // G, Cg * g.KH * g.KW)
    if g.is_pointwise:
        cols = _subsample(xp, x, g).reshape(N, G, Cg, L)
        return xp.matmul(wg, cols).reshape(N, O, g.OH, g.OW)
    if _is_depthwise(C, O, G):
        return k.depthwise_forward(x, w.reshape(C, g.KH, g.KW), g)
    y = xp.empty((N, O, g.OH, g.OW), dtype=x.dtype)
    x = xp.ascontiguousarray(x)
    per_row = _too_big_for_one_chunk(C, g, x.itemsize)
    if per_row:                                    # one sample at a time, in blocks of output rows
        for n in range(N):
            for oh0, oh1, r0, r1, gb in _row_blocks(g, per_row):
                col = k.im2col(x[n:n + 1, :, r0:r1], gb).reshape(1, G, Cg * g.KH * g.KW, gb.OH * g.OW)
                y[n:n + 1, :, oh0:oh1] = xp.matmul(wg, col).reshape(1, O, gb.OH, g.OW)
                del col                            # before the next block's columns exist
        return y

    def chunk(s, e, parallel):
        col = k.im2col(x[s:e], g, parallel=parallel)
        xp.matmul(wg, col.reshape(e - s, G, Cg * g.KH * g.KW, L), out=y[s:e].reshape(e - s, G, O // G, L))

    k.map_chunks(chunk, _chunks(N, C * g.KH * g.KW * L * x.itemsize, k))
    return y


def conv_transpose_forward(gy, w, g: Geometry, G):
    """The adjoint of conv_forward in x: gy (N, O, OH, OW) -> gx (N, C, H, W)."""
    xp, k = backend.xp_of(gy), backend.kernels(gy)
    N, O = gy.shape[:2]
    Cg = w.shape[1]
    C, L, KK = Cg * G, g.OH * g.OW, g.KH * g.KW
    wgT = w.reshape(G, O // G, Cg * KK).transpose(0, 2, 1)
    gy = xp.ascontiguousarray(gy)
    if g.is_pointwise:
        gcols = xp.matmul(wgT, gy.reshape(N, G, O // G, L)).reshape(N, C, g.OH, g.OW)
        if g.SH == g.SW == 1 and g.OH == g.H and g.OW == g.W:
            return gcols
        gx = xp.zeros((N, C, g.H, g.W), dtype=gy.dtype)
        gx[:, :, :g.SH * (g.OH - 1) + 1:g.SH, :g.SW * (g.OW - 1) + 1:g.SW] = gcols
        return gx
    if _is_depthwise(C, O, G):
        return k.depthwise_transpose(gy, w.reshape(C, g.KH, g.KW), g)
    # with one output channel per group the product has inner size 1: an outer product, which a broadcast
    # multiply does ~10x faster than matmul
    product = xp.multiply if O == G else xp.matmul
    per_row = _too_big_for_one_chunk(C, g, gy.itemsize)
    if per_row:                                    # one sample at a time, in blocks of output rows
        gx = xp.zeros((N, C, g.H, g.W), dtype=gy.dtype)
        for n in range(N):
            for oh0, oh1, r0, r1, gb in _row_blocks(g, per_row):
                col = product(wgT, xp.ascontiguousarray(gy[n:n + 1, :, oh0:oh1]).reshape(1, G, O // G, -1))
                gx[n:n + 1, :, r0:r1] += k.col2im(col.reshape(1, C, g.KH, g.KW, gb.OH, g.OW), gb)
                del col
        return gx
    gx = xp.empty((N, C, g.H, g.W), dtype=gy.dtype)

    def chunk(s, e, parallel):
        col = product(wgT, gy[s:e].reshape(e - s, G, O // G, L))
        k.col2im(col.reshape(e - s, C, g.KH, g.KW, g.OH, g.OW), g, out=gx[s:e], parallel=parallel)

    k.map_chunks(chunk, _chunks(N, C * KK * L * gy.itemsize, k))
    return gx


def conv_weight_forward(x, gy, g: Geometry, G, w_shape):
    """The adjoint of conv_forward in w: gw[o, c, kh, kw] = sum over n, oh, ow of gy * x at the offset."""
    xp, k = backend.xp_of(x), backend.kernels(x)
    N, C = x.shape[:2]
    O, Cg = w_shape[:2]
    L, KK = g.OH * g.OW, g.KH * g.KW
    gyg = xp.ascontiguousarray(gy).reshape(N, G, O // G, L)
    if g.is_pointwise:
        cols = _subsample(xp, x, g).reshape(N, G, Cg, L)
        return xp.matmul(gyg, cols.transpose(0, 1, 3, 2)).sum(0).reshape(w_shape)
    if _is_depthwise(C, O, G):
        return k.depthwise_weight(x, gy, g).reshape(w_shape)
    x = xp.ascontiguousarray(x)
    per_row = _too_big_for_one_chunk(C, g, x.itemsize)
    if per_row:                                    # one sample at a time, in blocks of output rows
        gw = xp.zeros((G, O // G, Cg * KK), dtype=x.dtype)
        for n in range(N):
            for oh0, oh1, r0, r1, gb in _row_blocks(g, per_row):
                col = k.im2col(x[n:n + 1, :, r0:r1], gb).reshape(1, G, Cg * KK, gb.OH * g.OW)
                gyb = xp.ascontiguousarray(gy[n:n + 1, :, oh0:oh1]).reshape(1, G, O // G, gb.OH * g.OW)
                gw += xp.matmul(gyb, col.transpose(0, 1, 3, 2))[0]
                del col
        return gw.reshape(w_shape)

    def chunk(s, e, parallel):
        col = k.im2col(x[s:e], g, parallel=parallel).reshape(e - s, G, Cg * KK, L)
        return xp.matmul(gyg[s:e], col.transpose(0, 1, 3, 2)).sum(0)

    parts = k.map_chunks(chunk, _chunks(N, C * KK * L * x.itemsize, k))
    if not parts:                                   # an empty batch: no contribution
        return xp.zeros(w_shape, dtype=x.dtype)
    return sum(parts[1:], parts[0]).reshape(w_shape)


# --------------------------------------------------------------------------------------- primitives

class Conv2d(Function):
    """y = conv(x, w) (+ b)."""

    def __init__(self, geometry, groups):
        self.g, self.G = geometry, groups

    @float16_in_float32
    def forward(self, x, w, b=None):
        y = conv_forward(x, w, self.g, self.G)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        x, w = self.saved_inputs()[:2]
        gx = ConvTranspose2d(self.g, self.G)(gy, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeight(self.g, self.G, w.shape)(x, gy) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            return gx, gw, (gy.sum((0, 2, 3)) if self.needs_input_grad[2] else None)
        return gx, gw


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in its input: u (N, O, OH, OW) -> (N, C, H, W) (+ b)."""

    def __init__(self, geometry, groups):
        self.g, self.G = geometry, groups

    @float16_in_float32
    def forward(self, u, w, b=None):
        z = conv_transpose_forward(u, w, self.g, self.G)
        if b is not None:
            z += b.reshape(1, -1, 1, 1)
        return z

    def backward(self, gz):
        u, w = self.saved_inputs()[:2]
        gu = Conv2d(self.g, self.G)(gz, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeight(self.g, self.G, w.shape)(gz, u) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            return gu, gw, (gz.sum((0, 2, 3)) if self.needs_input_grad[2] else None)
        return gu, gw


class Conv2dWeight(Function):
    """The adjoint of Conv2d in its weight: (x, gy) -> gw of shape ``w_shape``."""

    def __init__(self, geometry, groups, w_shape):
        self.g, self.G, self.w_shape = geometry, groups, tuple(w_shape)

    @float16_in_float32
    def forward(self, x, gy):
        return conv_weight_forward(x, gy, self.g, self.G, self.w_shape)

    def backward(self, ggw):
        x, gy = self.saved_inputs()
        gx = ConvTranspose2d(self.g, self.G)(gy, ggw) if self.needs_input_grad[0] else None
        ggy = Conv2d(self.g, self.G)(x, ggw) if self.needs_input_grad[1] else None
        return gx, ggy


class Unfold(Function):
    """im2col: x (N, C, H, W) -> (N, C*KH*KW, OH*OW)."""
    save_inputs = False

    def __init__(self, geometry):
        self.g = geometry

    @float16_in_float32
    def forward(self, x):
        g = self.g
        col = backend.kernels(x).im2col(x, g)
        return col.reshape(x.shape[0], -1, g.OH * g.OW)

    def backward(self, gy):
        return Fold(self.g)(gy)


class Fold(Function):
    """col2im: (N, C*KH*KW, OH*OW) -> x (N, C, H, W), overlapping entries summed."""
    save_inputs = False

    def __init__(self, geometry):
        self.g = geometry

    @float16_in_float32
    def forward(self, col):
        g = self.g
        col = col.reshape(col.shape[0], -1, g.KH, g.KW, g.OH, g.OW)
        return backend.kernels(col).col2im(col, g)

    def backward(self, gx):
        return Unfold(self.g)(gx)


# ------------------------------------------------------------------------------- argument handling

def out_size(L, K, S, P_total, D):
    """floor((L + P_total - D*(K-1) - 1) / S) + 1 (P_total: both sides together)."""
    return (L + P_total - D * (K - 1) - 1) // S + 1


def conv_geometry(x_shape, kernel, stride, padding, dilation, op="conv2d"):
    """Check the hyper-parameters and return the Geometry (padding an int, pair, 'same' or 'valid')."""
    H, W = x_shape[-2:]
    KH, KW = kernel
    SH, SW = pair(stride, "stride", op)
    DH, DW = pair(dilation, "dilation", op)
    if min(SH, SW) < 1 or min(DH, DW) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if (SH, SW) != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
            th, tw = DH * (KH - 1), DW * (KW - 1)
            pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)   # PyTorch puts the odd one at the end
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    else:
        PH, PW = pair(padding, "padding", op)
        if min(PH, PW) < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        pads = (PH, PH, PW, PW)
    eff_h, eff_w = DH * (KH - 1) + 1, DW * (KW - 1) + 1
    ph, pw = H + pads[0] + pads[1], W + pads[2] + pads[3]
    if eff_h > ph or eff_w > pw:
        raise ValueError(
            f"{op}: kernel size {KH}x{KW} (dilated: {eff_h}x{eff_w}) is larger than the padded input "
            f"{ph}x{pw} (input shape {tuple(x_shape)}, padding={padding})")
    return Geometry(KH, KW, SH, SW, pads[0], pads[2], DH, DW, H, W,
                    out_size(H, KH, SH, pads[0] + pads[1], DH), out_size(W, KW, SW, pads[2] + pads[3], DW))


def _check_weight(x, weight, bias, groups, op):
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {tuple(weight.shape)}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {x.dtype} and weight dtype {weight.dtype} differ")
    C = x.shape[1]
    if C % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the input's {C} channels "
                         f"(input shape {tuple(x.shape)}, weight shape {tuple(weight.shape)})")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != (weight.shape[0] if op == "conv2d"
                                                                 else weight.shape[1] * groups)):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} does not fit weight of shape "
                         f"{tuple(weight.shape)} with groups={groups}")


# -------------------------------------------------------------------------------------- user functions

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), PyTorch semantics.

    input (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) -> (N, O, OH, OW) with
    OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1; padding may also be 'same' or 'valid'.
    """
    x, unbatched = batched(input, "conv2d")
    _check_weight(x, weight, bias, groups, "conv2d")
    O, Cg, KH, KW = weight.shape
    if x.shape[1] != Cg * groups:
        raise ValueError(f"conv2d: weight of shape {tuple(weight.shape)} with groups={groups} expects input "
                         f"with {Cg * groups} channels, but got input of shape {tuple(input.shape)} "
                         f"({x.shape[1]} channels)")
    if O % groups:
        raise ValueError(f"conv2d: groups={groups} does not divide the {O} output channels "
                         f"(weight shape {tuple(weight.shape)})")
    g = conv_geometry(x.shape, (KH, KW), stride, padding, dilation)
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Conv2d(g, groups)(*args)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d in its input), PyTorch semantics.

    input (N, Cin, H, W), weight (Cin, Cout/groups, KH, KW), bias (Cout,) -> (N, Cout, OH, OW) with
    OH = (H-1)*SH - 2*PH + DH*(KH-1) + output_padding + 1.
    """
    op = "conv_transpose2d"
    u, unbatched = batched(input, op)
    _check_weight(u, weight, bias, groups, op)
    Cin, Cg, KH, KW = weight.shape
    if u.shape[1] != Cin:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} expects input with {Cin} channels, "
                         f"but got input of shape {tuple(input.shape)} ({u.shape[1]} channels)")
    SH, SW = pair(stride, "stride", op)
    PH, PW = pair(padding, "padding", op)
    DH, DW = pair(dilation, "dilation", op)
    OPH, OPW = pair(output_padding, "output_padding", op)
    if min(SH, SW, DH, DW) < 1 or min(PH, PW, OPH, OPW) < 0:
        raise ValueError(f"{op}: bad stride={stride}, padding={padding}, dilation={dilation} or "
                         f"output_padding={output_padding}")
    if not (OPH < max(SH, DH) and OPW < max(SW, DW)):
        raise ValueError(f"{op}: output_padding={output_padding} must be smaller than stride={stride} "
                         f"or dilation={dilation}")
    IH, IW = u.shape[2:]
    H = (IH - 1) * SH - 2 * PH + DH * (KH - 1) + OPH + 1
    W = (IW - 1) * SW - 2 * PW + DW * (KW - 1) + OPW + 1
    if H < 1 or W < 1:
        raise ValueError(f"{op}: the output would be {H}x{W} for input shape {tuple(input.shape)}, "
                         f"kernel {KH}x{KW}, stride={stride}, padding={padding}")
    g = Geometry(KH, KW, SH, SW, PH, PW, DH, DW, H, W, IH, IW)
    args = (u, weight) if bias is None else (u, weight, bias)
    z = ConvTranspose2d(g, groups)(*args)
    return z.squeeze(0) if unbatched else z


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C*KH*KW, L), L the number of sliding-window positions (PyTorch's unfold)."""
    if input.ndim != 4:
        raise ValueError(f"unfold: expected a 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
    g = conv_geometry(input.shape, pair(kernel_size, "kernel_size", "unfold"), stride, padding, dilation,
                      "unfold")
    return Unfold(g)(input)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C*KH*KW, L) -> (N, C, H, W), summing overlapping values (PyTorch's fold)."""
    H, W = pair(output_size, "output_size", "fold")
    KH, KW = pair(kernel_size, "kernel_size", "fold")
    if input.ndim != 3:
        raise ValueError(f"fold: expected a 3-D (N, C*KH*KW, L) input, got shape {tuple(input.shape)}")
    g = conv_geometry((H, W), (KH, KW), stride, padding, dilation, "fold")
    N, CKK, L = input.shape
    if CKK % (KH * KW) or L != g.OH * g.OW:
        raise ValueError(f"fold: input of shape {tuple(input.shape)} does not match kernel {KH}x{KW} and "
                         f"output size {H}x{W}: expected (N, C*{KH * KW}, {g.OH * g.OW})")
    return Fold(g)(input)
