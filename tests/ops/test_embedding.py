"""minigrad/ops/embedding.py: embedding and one_hot against torch."""
import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from helpers import check_op, torch


def test_embedding():
    w = np.random.default_rng(0).standard_normal((5, 3))
    idx = np.array([[4, 0, 0], [1, 4, 2]])
    check_op(lambda w: F.embedding(minigrad.tensor(idx), w), [w],
             lambda w: torch.nn.functional.embedding(torch.tensor(idx), w))
    # padding_idx deliberately withholds a true gradient, so it is compared with torch, not gradchecked
    check_op(lambda w: F.embedding(minigrad.tensor(idx), w, padding_idx=4), [w],
             lambda w: torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=4), gradcheck=False)
    mw = minigrad.tensor(w, requires_grad=True)
    F.embedding(minigrad.tensor(idx), mw, padding_idx=4).backward(minigrad.ones(2, 3, 3, dtype=minigrad.float64))
    assert not mw.grad.numpy()[4].any()


def test_one_hot():
    t = np.array([[0, 3], [2, 1]])
    got = F.one_hot(minigrad.tensor(t), 5)
    assert got.dtype == minigrad.int64 and got.shape == (2, 2, 5)
    if torch is not None:
        np.testing.assert_array_equal(got.numpy(), torch.nn.functional.one_hot(torch.tensor(t), 5).numpy())
    assert F.one_hot(minigrad.tensor([1, 2])).shape == (2, 3)
    with pytest.raises(RuntimeError, match="class values"):
        F.one_hot(minigrad.tensor([5]), 3)
