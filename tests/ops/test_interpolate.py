"""minigrad/ops/interpolate.py and nn.Upsample: nearest, linear, bilinear (align_corners both ways) against torch."""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from helpers import check_op, requires_torch, torch


@pytest.mark.parametrize("kw", [
    dict(scale_factor=2), dict(size=(5, 7)), dict(size=(2, 3)), dict(scale_factor=(1.5, 0.7)),
    dict(scale_factor=1.7, recompute_scale_factor=True),
])
@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate_2d(kw, mode, align):
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5))
    extra = {} if mode == "nearest" else dict(align_corners=align)
    check_op(lambda t: F.interpolate(t, mode=mode, **kw, **extra), [x],
             lambda t: torch.nn.functional.interpolate(t, mode=mode, **kw, **extra))


@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
def test_interpolate_1d(mode, align):
    x = np.random.default_rng(1).standard_normal((2, 3, 6))
    extra = {} if mode == "nearest" else dict(align_corners=align)
    for kw in (dict(size=9), dict(scale_factor=0.5)):
        check_op(lambda t: F.interpolate(t, mode=mode, **kw, **extra), [x],
                 lambda t: torch.nn.functional.interpolate(t, mode=mode, **kw, **extra))


@requires_torch
def test_upsample_module():
    a = np.random.default_rng(2).standard_normal((1, 3, 4, 4)).astype(np.float32)
    for kw in (dict(scale_factor=2), dict(size=(6, 5), mode="bilinear", align_corners=True)):
        got = nn.Upsample(**kw)(minigrad.tensor(a))
        want = torch.nn.Upsample(**kw)(torch.tensor(a))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert "scale_factor=2" in repr(nn.Upsample(scale_factor=2))


def test_bad_arguments_are_named():
    x = minigrad.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(NotImplementedError, match="'bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="'linear' needs a 3-D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
