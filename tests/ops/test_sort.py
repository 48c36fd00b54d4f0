"""minigrad/ops/sort.py: sort, argsort, topk against torch (distinct values: tie order is not compared)."""
import numpy as np
import pytest

import minigrad
from helpers import check_op, requires_torch, torch


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(dim, descending):
    x = np.random.default_rng(dim + 3).permutation(24).reshape(2, 3, 4) / 7.0
    check_op(lambda t: t.sort(dim, descending=descending), [x], lambda t: t.sort(dim, descending=descending))
    if torch is not None:
        np.testing.assert_array_equal(minigrad.argsort(minigrad.tensor(x), dim, descending).numpy(),
                                      torch.argsort(torch.tensor(x), dim, descending).numpy())


@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (3, 1, True), (2, 0, False), (0, -1, True)])
def test_topk(k, dim, largest):
    x = np.random.default_rng(k).permutation(60).reshape(3, 4, 5) / 11.0
    out = check_op(lambda t: t.topk(k, dim, largest=largest), [x], lambda t: t.topk(k, dim, largest=largest))
    assert out[1].dtype == minigrad.int64


def test_sort_returns_named_fields_and_is_stable():
    x = minigrad.tensor([3.0, 1.0, 3.0, 1.0])
    s = x.sort(descending=True)
    assert s.indices.tolist() == [0, 2, 1, 3] and s.values.tolist() == [3.0, 3.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="k \\(5\\) must be between 0 and"):
        x.topk(5)


@requires_torch
def test_sort_of_integers_matches_torch():
    a = np.random.default_rng(0).integers(0, 100, size=(4, 6))
    for desc in (False, True):
        np.testing.assert_array_equal(minigrad.tensor(a).sort(1, descending=desc).values.numpy(),
                                      torch.tensor(a).sort(1, descending=desc).values.numpy())
