"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d (NCHW, PyTorch semantics).

The kernels come from ``backend.kernels(x)``. Max pooling saves the flat position of each window's
maximum (ties: the first in scan order, as PyTorch); its backward scatters gy to those positions and the
scatter's own backward is the matching gather, so second derivatives work. Average pooling and its
backward are each other's adjoints. float16 on the CPU is computed in float32 and returned as float16
(Numba has no half type; PyTorch's CPU kernels accumulate half in float too).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ..kernels.geometry import Geometry
from ._util import batched, ceil_div, float16_in_float32, pair


# ---------------------------------------------------------------------------------------- primitives

class MaxPool2d(Function):
    """y[n, c, oh, ow] = max over the window; ``self.indices`` keeps where each max was (flat in H*W)."""
    save_inputs = False

    def __init__(self, geometry):
        self.g = geometry

    @float16_in_float32
    def forward(self, x):
        y, self.indices = backend.kernels(x).maxpool2d_forward(x, self.g)
        return y

    def backward(self, gy):
        return IndexScatter2d(self.indices, self.g)(gy)


class AdaptiveMaxPool2d(Function):
    """Max over windows [floor(i*H/OH), ceil((i+1)*H/OH)) x [floor(j*W/OW), ceil((j+1)*W/OW))."""
    save_inputs = False

    def __init__(self, geometry):
        self.g = geometry

    @float16_in_float32
    def forward(self, x):
        y, self.indices = backend.kernels(x).adaptive_maxpool2d_forward(x, self.g)
        return y

    def backward(self, gy):
        return IndexScatter2d(self.indices, self.g)(gy)


class IndexScatter2d(Function):
    """gy (N, C, OH, OW) -> gx (N, C, H, W): each value added at its plane's flat position ``indices``."""
    save_inputs = False

    def __init__(self, indices, geometry):
        self.indices, self.g = indices, geometry

    @float16_in_float32
    def forward(self, gy):
        return backend.kernels(gy).maxpool2d_backward(gy, self.indices, self.g)

    def backward(self, ggx):
        return IndexGather2d(self.indices, self.g)(ggx)


class IndexGather2d(Function):
    """The adjoint of IndexScatter2d: (N, C, H, W) -> (N, C, OH, OW) read at ``indices``."""
    save_inputs = False

    def __init__(self, indices, geometry):
        self.indices, self.g = indices, geometry

    @float16_in_float32
    def forward(self, gx):
        return backend.kernels(gx).maxpool2d_gather(gx, self.indices, self.g)

    def backward(self, ggy):
        return IndexScatter2d(self.indices, self.g)(ggy)


class AvgPool2d(Function):
    """y = window sum / divisor (PyTorch's divisor rules for padding, ceil_mode and divisor_override)."""
    save_inputs = False

    def __init__(self, geometry, count_include_pad, divisor_override):
        self.g, self.options = geometry, dict(count_include_pad=count_include_pad,
                                              divisor_override=divisor_override)

    @float16_in_float32
    def forward(self, x):
        return backend.kernels(x).avgpool2d_forward(x, self.g, **self.options)

    def backward(self, gy):
        return AvgPool2dAdjoint(self.g, **self.options)(gy)


class AvgPool2dAdjoint(Function):
    """The adjoint of AvgPool2d: gy (N, C, OH, OW) -> gx (N, C, H, W)."""
    save_inputs = False

    def __init__(self, geometry, count_include_pad, divisor_override):
        self.g, self.options = geometry, dict(count_include_pad=count_include_pad,
                                              divisor_override=divisor_override)

    @float16_in_float32
    def forward(self, gy):
        return backend.kernels(gy).avgpool2d_backward(gy, self.g, **self.options)

    def backward(self, ggx):
        return AvgPool2d(self.g, **self.options)(ggx)


# ------------------------------------------------------------------------------- argument handling

def pool_out_size(L, K, S, P, D, ceil_mode):
    """PyTorch's pooling output size: floor (or ceil) of (L + 2P - D*(K-1) - 1)/S, plus one; with
    ceil_mode the last window must start inside the input or its left padding."""
    num = L + 2 * P - D * (K - 1) - 1
    out = (num + (S - 1 if ceil_mode else 0)) // S + 1
    if ceil_mode and (out - 1) * S >= L + P:
        out -= 1
    return out


def _pool_args(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    KH, KW = pair(kernel_size, "kernel_size", op)
    SH, SW = (KH, KW) if stride is None or stride == [] or stride == () else pair(stride, "stride", op)
    PH, PW = pair(padding, "padding", op)
    DH, DW = pair(dilation, "dilation", op)
    if min(KH, KW, SH, SW, DH, DW) < 1 or min(PH, PW) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, "
                         f"got kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}")
    if PH > KH // 2 or PW > KW // 2:
        raise ValueError(f"{op}: padding should be at most half of the kernel size, got padding={padding} "
                         f"for kernel_size={kernel_size}")
    H, W = x.shape[-2:]
    OH = pool_out_size(H, KH, SH, PH, DH, ceil_mode)
    OW = pool_out_size(W, KW, SW, PW, DW, ceil_mode)
    if OH < 1 or OW < 1:
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} is too small for kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}: the output would be "
                         f"{OH}x{OW}")
    return Geometry(KH, KW, SH, SW, PH, PW, DH, DW, H, W, OH, OW)


def _adaptive_size(op, x, output_size):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        OH, OW = output_size
    else:
        OH = OW = output_size
    H, W = x.shape[-2:]
    OH, OW = H if OH is None else int(OH), W if OW is None else int(OW)
    if OH < 1 or OW < 1 or H < 1 or W < 1:
        raise ValueError(f"{op}: output_size {output_size} or input shape {tuple(x.shape)} is empty")
    return OH, OW


# ----------------------------------------------------------------------------------- user functions

def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over KHxKW windows: (N, C, H, W) -> (N, C, OH, OW); with return_indices also the flat
    positions (ih*W + iw) of the maxima, as PyTorch."""
    g = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    x, unbatched = batched(input, "pool")
    fn = MaxPool2d(g)
    y = fn(x)
    indices = Tensor._wrap(fn.indices, False)
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over KHxKW windows: (N, C, H, W) -> (N, C, OH, OW); the divisor follows PyTorch
    (count_include_pad counts the zero padding, divisor_override replaces the count)."""
    g = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    x, unbatched = batched(input, "pool")
    y = AvgPool2d(g, bool(count_include_pad), int(divisor_override or 0))(x)
    return y.squeeze(0) if unbatched else y


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over the adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH)): (N, C, H, W) -> (N, C, OH, OW)."""
    OH, OW = _adaptive_size("adaptive_max_pool2d", input, output_size)
    x, unbatched = batched(input, "pool")
    fn = AdaptiveMaxPool2d(Geometry.adaptive(*input.shape[-2:], OH, OW))
    y = fn(x)
    indices = Tensor._wrap(fn.indices, False)
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def _averaging_matrix(xp, L, OL, dtype):
    """(OL, L) with row i averaging the adaptive window [floor(i*L/OL), ceil((i+1)*L/OL))."""
    m = xp.zeros((OL, L), dtype=dtype)
    for i in range(OL):
        s, e = (i * L) // OL, ceil_div((i + 1) * L, OL)
        m[i, s:e] = 1.0 / (e - s)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Mean over the adaptive windows: (N, C, H, W) -> (N, C, OH, OW); output_size 1 is global average
    pooling. A composite: y = A_H x A_W^T with constant averaging matrices (or a plain avg_pool2d)."""
    OH, OW = _adaptive_size("adaptive_avg_pool2d", input, output_size)
    H, W = input.shape[-2:]
    if (OH, OW) == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    if H % OH == 0 and W % OW == 0:
        return avg_pool2d(input, (H // OH, W // OW))
    xp = backend.xp_of(input.array)
    ah = Tensor._wrap(_averaging_matrix(xp, H, OH, input.dtype), False)
    awt = Tensor._wrap(_averaging_matrix(xp, W, OW, input.dtype).T.copy(), False)
    return ah @ input @ awt
