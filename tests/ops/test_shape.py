"""minigrad/ops/shape.py: reshape, permute, expand, indexing, cat/stack/split against torch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from helpers import check_op, torch

shapes = hnp.array_shapes(min_dims=1, max_dims=4, max_side=4)


@given(shape=shapes, seed=st.integers(0, 2 ** 16), data=st.data())
def test_reshape_permute_transpose_flatten(shape, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    check_op(lambda t: t.reshape(-1), [x], lambda t: t.reshape(-1))
    check_op(lambda t: t.permute(*perm), [x], lambda t: t.permute(*perm))
    check_op(lambda t: t.transpose(0, -1), [x], lambda t: t.transpose(0, -1))
    check_op(lambda t: t.flatten(1) if t.ndim > 1 else t.flatten(), [x],
             lambda t: t.flatten(1) if t.ndim > 1 else t.flatten())


@given(shape=shapes, seed=st.integers(0, 2 ** 16), data=st.data())
def test_squeeze_unsqueeze_expand(shape, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda t: t.unsqueeze(d), [x], lambda t: t.unsqueeze(d))
    check_op(lambda t: t.squeeze(), [x], lambda t: t.squeeze())
    target = tuple(3 if s == 1 else s for s in shape)
    check_op(lambda t: t.expand(2, *target), [x], lambda t: t.expand(2, *target))
    check_op(lambda t: t.repeat(2, *([1] * (len(shape) - 1)), 3), [x],
             lambda t: t.repeat(2, *([1] * (len(shape) - 1)), 3))


@pytest.mark.parametrize("key", [
    (0,), (slice(1, 3),), (Ellipsis, 1), (slice(None), None, 0), (slice(None, None, 2), slice(1, None)),
    (-1, -2), ([0, 2, 2, 1],), (slice(None), [1, 1, 0]), ([0, 1], [2, 2]), (None, Ellipsis),
])
def test_getitem_basic_and_advanced(key):
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    check_op(lambda t: t[key], [x], lambda t: t[key])


def test_getitem_bool_mask_and_tensor_index():
    x = np.random.default_rng(1).standard_normal((5, 3))
    mask = x[:, 0] > 0
    idx = np.array([4, 0, 4])
    check_op(lambda t: t[minigrad.tensor(mask)], [x], lambda t: t[torch.tensor(mask)] if torch else None)
    check_op(lambda t: t[minigrad.tensor(idx)], [x], lambda t: t[torch.tensor(idx)])


def test_repeated_advanced_index_accumulates_gradient():
    x = minigrad.zeros(3, requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


@given(seed=st.integers(0, 2 ** 16), n=st.integers(1, 4), dim=st.integers(-2, 1))
def test_cat_stack(seed, n, dim):
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal((2, 3)) for _ in range(n)]
    check_op(lambda *ts: minigrad.cat(ts, dim), parts, lambda *ts: torch.cat(ts, dim))
    check_op(lambda *ts: minigrad.stack(ts, dim), parts, lambda *ts: torch.stack(ts, dim))


@pytest.mark.parametrize("arg", [2, 3, [1, 4, 0, 2]])
def test_split_chunk(arg):
    x = np.random.default_rng(2).standard_normal((7, 2))
    check_op(lambda t: t.split(arg), [x], lambda t: t.split(arg))
    if isinstance(arg, int):
        check_op(lambda t: t.chunk(arg), [x], lambda t: t.chunk(arg))


def test_shape_errors_name_the_shapes():
    x = minigrad.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"\(4, 4\).*size 6"):
        x.reshape(4, 4)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(2, 4\)"):
        minigrad.cat([x, minigrad.ones(2, 4)], 0)
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        x.expand(4, 3)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]


def test_views_share_the_version_counter():
    x = minigrad.ones(2, 3)
    v = x.reshape(6)
    w = minigrad.ones(6, requires_grad=True)
    y = (w * v).sum()         # Mul saves v
    with minigrad.no_grad():
        x.mul_(2)             # changes v's memory too
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
