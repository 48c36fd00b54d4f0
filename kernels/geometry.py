"""The window geometry every kernel takes: one small value type, no minigrad imports (leaf code).

A sliding window over an (H, W) plane, producing an (OH, OW) output: output (oh, ow) and kernel offset
(kh, kw) read input row ``ih = oh*SH - PH + kh*DH`` and column ``iw = ow*SW - PW + kw*DW``. PH and PW are
the top/left padding; OH and OW fix how far the windows reach on the bottom/right. Positions outside the
plane are zeros (convolution) or skipped (pooling).

Every kernel module (``reference``, ``cpu``, ``gpu``) takes ``(array(s), geometry, *, options)``.
"""
from typing import NamedTuple

import numpy as np


class Geometry(NamedTuple):
    """Kernel (KH, KW), stride (SH, SW), top/left padding (PH, PW), dilation (DH, DW), input plane (H, W),
    output plane (OH, OW)."""
    KH: int
    KW: int
    SH: int
    SW: int
    PH: int
    PW: int
    DH: int
    DW: int
    H: int
    W: int
    OH: int
    OW: int

    @classmethod
    def adaptive(cls, H, W, OH, OW):
        """The geometry of an adaptive pooling (windows [floor(i*H/OH), ceil((i+1)*H/OH))): only the plane
        sizes count; the kernel fields are neutral."""
        return cls(1, 1, 1, 1, 0, 0, 1, 1, H, W, OH, OW)

    @property
    def is_pointwise(self):
        """1x1 kernel, no padding: the columns are (a strided subsample of) the input itself."""
        return self.KH == self.KW == 1 and self.PH == self.PW == 0 and self.OH > 0

    @property
    def padded_size(self):
        """(Hp, Wp): a plane with the image at (PH, PW) and room for every window, so all reads are in
        bounds."""
        return (max(self.PH + self.H, (self.OH - 1) * self.SH + (self.KH - 1) * self.DH + 1),
                max(self.PW + self.W, (self.OW - 1) * self.SW + (self.KW - 1) * self.DW + 1))

    def avgpool_divisors(self, count_include_pad=True, divisor_override=0):
        """The (OH, OW) divisors of an average pooling, by PyTorch's rules: the window clipped to the padded
        input (count_include_pad), or to the input itself, or the override; 0 for a window that holds no
        input pixel (ceil_mode). A small host (NumPy) table: every kernel module divides by it."""
        def sizes(O, S, P, K, L):
            start = np.arange(O) * S - P
            end = np.minimum(start + K, L + P)
            return end - start, np.minimum(end, L) - np.maximum(start, 0)
        hs, hin = sizes(self.OH, self.SH, self.PH, self.KH, self.H)
        ws, win = sizes(self.OW, self.SW, self.PW, self.KW, self.W)
        if divisor_override:
            d = np.full((self.OH, self.OW), divisor_override)
        elif count_include_pad:
            d = hs[:, None] * ws[None, :]
        else:
            d = hin[:, None] * win[None, :]
        return np.where((hin[:, None] <= 0) | (win[None, :] <= 0), 0, d)
