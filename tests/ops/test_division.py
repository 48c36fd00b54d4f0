"""minigrad/ops/division.py: //, %, isclose, allclose (and isinf) against torch."""
import numpy as np
import pytest

import minigrad
from helpers import check_op, requires_torch, torch


def test_floor_divide_and_remainder_follow_torch_signs():
    rng = np.random.default_rng(0)
    a = rng.uniform(-5, 5, (4, 5))
    b = rng.uniform(0.7, 2.0, (4, 5)) * rng.choice([-1.0, 1.0], (4, 5))
    # keep a/b away from integers, where % jumps
    a = np.where(np.abs(a / b - np.round(a / b)) < 0.05, a + 0.2 * np.abs(b), a)
    check_op(lambda x, y: x % y, [a, b], lambda x, y: x % y)
    check_op(lambda x: x % 1.5, [a], lambda x: x % 1.5)
    check_op(lambda x, y: minigrad.remainder(x, y), [a, b], lambda x, y: torch.remainder(x, y))
    if torch is not None:
        np.testing.assert_array_equal((minigrad.tensor(a) // minigrad.tensor(b)).numpy(),
                                      (torch.tensor(a) // torch.tensor(b)).numpy())


@requires_torch
def test_integer_floor_divide_and_remainder():
    a = np.arange(-7, 8).astype(np.int64)
    for b in (3, -3):
        np.testing.assert_array_equal((minigrad.tensor(a) // b).numpy(), (torch.tensor(a) // b).numpy())
        np.testing.assert_array_equal((minigrad.tensor(a) % b).numpy(), (torch.tensor(a) % b).numpy())
    np.testing.assert_array_equal((7 % minigrad.tensor(a[a != 0])).numpy(), (7 % torch.tensor(a[a != 0])).numpy())


@requires_torch
@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_allclose_isinf(equal_nan):
    a = np.array([1.0, 1.0 + 1e-6, 1.1, np.inf, -np.inf, np.nan, 0.0, 1e-9])
    b = np.array([1.0, 1.0, 1.0, np.inf, np.inf, np.nan, 1e-9, 0.0])
    got = minigrad.isclose(minigrad.tensor(a), minigrad.tensor(b), equal_nan=equal_nan)
    want = torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert minigrad.allclose(minigrad.tensor(a[:2]), minigrad.tensor(b[:2])) is True
    assert minigrad.tensor(a).allclose(minigrad.tensor(b)) is False
    np.testing.assert_array_equal(minigrad.tensor(a).isinf().numpy(), torch.tensor(a).isinf().numpy())
    np.testing.assert_array_equal(minigrad.isnan(minigrad.tensor(a)).numpy(), torch.isnan(torch.tensor(a)).numpy())
    np.testing.assert_array_equal(minigrad.isfinite(minigrad.tensor(a)).numpy(),
                                  torch.isfinite(torch.tensor(a)).numpy())
