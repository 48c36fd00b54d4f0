"""minigrad/nn/sparse.py: Embedding against torch (repeated indices, padding_idx gets no gradient)."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from nn_helpers import torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@requires_torch
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(padding_idx):
    m, tm = nn.Embedding(6, 3, padding_idx=padding_idx), torch.nn.Embedding(6, 3, padding_idx=padding_idx)
    assert repr(m) == repr(tm)
    m.double().load_state_dict(tm.double().state_dict())
    idx = np.array([[0, 2, 2, 5], [1, 0, 5, 3]])
    y, ty = m(minigrad.tensor(idx)), tm(torch.tensor(idx))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    v = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(minigrad.tensor(v))
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-12)


def test_embedding_init_and_errors():
    minigrad.manual_seed(0)
    m = nn.Embedding(1000, 8, padding_idx=3)
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(w[3], 0)
    np.testing.assert_allclose(w.std(), 1, rtol=0.05)
    with pytest.raises(IndexError, match="out of range"):
        m(minigrad.tensor([1000]))
    frozen = nn.Embedding.from_pretrained(minigrad.randn(4, 2))
    assert not frozen.weight.requires_grad
