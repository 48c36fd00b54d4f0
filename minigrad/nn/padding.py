"""Padding layers (2-D): each is F.pad with its mode; ``padding`` is an int or (left, right, top, bottom)."""
from __future__ import annotations

from . import functional as F
from .module import Module


def _quad(padding):
    return tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * 4


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _quad(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(_Pad2d):
    pass


class ReflectionPad2d(_Pad2d):
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    mode = "replicate"


class CircularPad2d(_Pad2d):
    mode = "circular"


class ConstantPad2d(_Pad2d):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"
