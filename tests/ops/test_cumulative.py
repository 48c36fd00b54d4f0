"""minigrad/ops/cumulative.py: cumsum, cumprod (with and without zeros) against torch, to second order."""
import numpy as np
import pytest

import minigrad
from helpers import away_from_zero, check_op, torch


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod(dim):
    rng = np.random.default_rng(dim + 5)
    x = away_from_zero(rng, (3, 4, 5), 0.5, 1.5)
    check_op(lambda t: t.cumsum(dim), [x], lambda t: t.cumsum(dim))
    check_op(lambda t: minigrad.cumprod(t, dim), [x], lambda t: torch.cumprod(t, dim))


def test_cumprod_gradient_with_zeros():
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, (2, 6), 0.5, 1.5)
    x[0, 2] = 0.0
    x[1, 1] = x[1, 4] = 0.0
    check_op(lambda t: t.cumprod(1), [x], lambda t: t.cumprod(1), second_order=False)
    check_op(lambda t: t.cumprod(0), [x.T.copy()], lambda t: t.cumprod(0), second_order=False)


def test_cumsum_dtype():
    x = minigrad.tensor([1, 2, 3])
    assert x.cumsum(0).tolist() == [1, 3, 6]
    assert x.cumsum(0, dtype=minigrad.float64).dtype == minigrad.float64
