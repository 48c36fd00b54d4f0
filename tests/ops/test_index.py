"""minigrad/ops/index.py: gather, scatter, scatter_add, index_select, flip, roll, nonzero against torch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from helpers import check_op, requires_torch, torch


def _index(rng, shape, dim, n):
    return rng.integers(0, n, size=shape).astype(np.int64)


@settings(max_examples=8)
@given(seed=st.integers(0, 2 ** 16), dim=st.integers(-3, 2))
def test_gather_scatter_scatter_add(seed, dim):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4, 5))
    ishape = tuple(rng.integers(1, s + 1) for s in x.shape)
    idx = _index(rng, ishape, dim, x.shape[dim])
    src = rng.standard_normal(ishape)   # torch's backward rejects a src larger than index
    check_op(lambda t: t.gather(dim, minigrad.tensor(idx)), [x], lambda t: t.gather(dim, torch.tensor(idx)))
    check_op(lambda t, s: t.scatter_add(dim, minigrad.tensor(idx), s), [x, src],
             lambda t, s: t.scatter_add(dim, torch.tensor(idx), s))
    # scatter with repeated indices is unspecified in torch: use a permutation along dim
    perm = np.argsort(rng.random(ishape[:dim % 3] + (x.shape[dim],) + ishape[dim % 3 + 1:]), axis=dim)
    check_op(lambda t, s: minigrad.scatter(t, dim, minigrad.tensor(perm), s), [x, rng.standard_normal(perm.shape)],
             lambda t, s: torch.scatter(t, dim, torch.tensor(perm), s))
    check_op(lambda t: t.scatter(dim, minigrad.tensor(perm), value=2.5), [x],
             lambda t: t.scatter(dim, torch.tensor(perm), value=2.5))


def test_index_select_flip_roll():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    idx = np.array([3, 0, 3, 1])
    check_op(lambda t: t.index_select(1, minigrad.tensor(idx)), [x], lambda t: t.index_select(1, torch.tensor(idx)))
    check_op(lambda t: minigrad.index_select(t, -1, minigrad.tensor(idx)), [x],
             lambda t: torch.index_select(t, -1, torch.tensor(idx)))
    check_op(lambda t: t.flip(0, 2), [x], lambda t: t.flip(0, 2))
    check_op(lambda t: minigrad.flip(t, [-1]), [x], lambda t: torch.flip(t, [-1]))
    for shifts, dims in [(2, 1), ((1, -7), (0, 2)), (3, None), (-1, -1)]:
        check_op(lambda t: t.roll(shifts, dims), [x], lambda t: t.roll(shifts, dims))


@requires_torch
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_nonzero(shape):
    a = np.random.default_rng(1).integers(-1, 2, size=shape).astype(np.float32)
    for as_tuple in (False, True):
        got = minigrad.nonzero(minigrad.tensor(a), as_tuple=as_tuple)
        want = torch.nonzero(torch.tensor(a), as_tuple=as_tuple)
        got, want = (got, want) if as_tuple else ((got,), (want,))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == minigrad.int64 and tuple(g.shape) == tuple(w.shape)
            np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_bad_indices_are_named():
    x = minigrad.randn(3, 4)
    with pytest.raises(IndexError, match="out of range for dimension 1 of size 4"):
        x.gather(1, minigrad.tensor([[4]]))
    with pytest.raises(RuntimeError, match="index has 1 dimensions but the tensor has 2"):
        x.gather(0, minigrad.tensor([0]))
    with pytest.raises(RuntimeError, match="integer tensor"):
        x.gather(0, minigrad.tensor([[0.5]]))
