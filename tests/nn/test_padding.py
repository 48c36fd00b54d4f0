"""minigrad/nn/padding.py: the padding layers against torch's."""
import numpy as np
import pytest

import minigrad.nn as nn
from nn_helpers import check_module, tnn


@pytest.mark.parametrize("name,args", [("ZeroPad2d", (1,)), ("ZeroPad2d", ((1, 0, 2, 1),)),
                                       ("ConstantPad2d", ((1, 2, 0, 1), 3.5)), ("ReflectionPad2d", (2,)),
                                       ("ReplicationPad2d", ((1, 0, 3, 1),)), ("CircularPad2d", (1,))])
def test_padding_layers(name, args):
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5))
    m, tm = getattr(nn, name)(*args), getattr(tnn, name)(*args)
    check_module(m, tm, x)
    assert tm is None or repr(m) == repr(tm)
