"""minigrad/nn/_args.py: layers refuse sizes that are not ints (a float, a bool, a string) when they are made,
with a message naming the layer, the argument and the value, and a 0-d input to Linear is refused."""
import pytest

import minigrad
import minigrad.nn as nn


@pytest.mark.parametrize("make,error,msg", [
    (lambda: nn.Linear(2.5, 3), TypeError, r"Linear: in_features must be an int, got 2\.5 \(float\)"),
    (lambda: nn.Linear(2, "3"), TypeError, r"Linear: out_features must be an int, got '3' \(str\)"),
    (lambda: nn.Linear(True, 3), TypeError, r"Linear: in_features must be an int, got True \(bool\)"),
    (lambda: nn.Linear(-1, 3), ValueError, r"Linear: in_features must be an int >= 0, got -1"),
    (lambda: nn.Conv2d(3.5, 4, 3), TypeError, r"Conv2d: in_channels must be an int, got 3\.5 \(float\)"),
    (lambda: nn.Conv2d(3, 4, (3, 1.5)), TypeError,
     r"Conv2d: each of kernel_size=\(3, 1\.5\) must be an int, got 1\.5 \(float\)"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, r"Conv2d: stride must be an int >= 1, got 0"),
    (lambda: nn.Conv2d(3, 4, 3, padding=1.0), TypeError, r"Conv2d: padding must be an int, got 1\.0"),
    (lambda: nn.Conv2d(3, 3, 3, groups=1.5), TypeError, r"Conv2d: groups must be an int, got 1\.5"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError, r"Conv2d: kernel_size must be an int or 2 ints, got \(3, 3, 3\)"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, output_padding=0.5), TypeError,
     r"ConvTranspose2d: output_padding must be an int, got 0\.5"),
    (lambda: nn.BatchNorm2d(3.0), TypeError, r"BatchNorm2d: num_features must be an int, got 3\.0"),
    (lambda: nn.InstanceNorm2d(2.5), TypeError, r"InstanceNorm2d: num_features must be an int"),
    (lambda: nn.GroupNorm(2.0, 4), TypeError, r"GroupNorm: num_groups must be an int, got 2\.0"),
    (lambda: nn.LayerNorm((4, 2.0)), TypeError, r"LayerNorm: normalized_shape must be an int, got 2\.0"),
    (lambda: nn.Embedding(10, 4.0), TypeError, r"Embedding: embedding_dim must be an int, got 4\.0"),
    (lambda: nn.MaxPool2d(2.5), TypeError, r"MaxPool2d: kernel_size must be an int, got 2\.5"),
    (lambda: nn.AvgPool2d(2, stride=1.5), TypeError, r"AvgPool2d: stride must be an int, got 1\.5"),
])
def test_layers_refuse_sizes_that_are_not_ints(make, error, msg):
    with pytest.raises(error, match=msg):
        make()


def test_numpy_ints_are_sizes():
    import numpy as np
    m = nn.Linear(np.int64(3), np.int32(2))
    assert m.weight.shape == (2, 3) and type(m.in_features) is int
    assert nn.Conv2d(np.int64(1), 2, (np.int64(3), 3)).kernel_size == (3, 3)


def test_linear_refuses_a_0d_input():
    with pytest.raises(RuntimeError, match=r"linear: the input must have at least 1 dimension \(\.\.\., 3\), got a "
                                           r"0-d tensor; the weight has shape \(2, 3\)"):
        nn.Linear(3, 2)(minigrad.tensor(1.0))
