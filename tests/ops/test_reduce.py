"""minigrad/ops/reduce.py: reductions, softmax and log-softmax against torch, with gradchecks."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from helpers import check_op, torch

shapes = hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)


@st.composite
def shape_and_dim(draw):
    shape = draw(shapes)
    dim = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                         st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True)
                         .map(tuple)))
    return shape, dim, draw(st.booleans())


def _tdim(dim):
    return tuple(range(0)) if dim is None else dim


@given(sdk=shape_and_dim(), seed=st.integers(0, 2 ** 16))
def test_sum_mean(sdk, seed):
    shape, dim, keep = sdk
    x = np.random.default_rng(seed).standard_normal(shape)
    if dim is None:
        check_op(lambda t: t.sum(), [x], lambda t: t.sum())
        check_op(lambda t: t.mean(), [x], lambda t: t.mean())
    else:
        check_op(lambda t: t.sum(dim, keepdim=keep), [x], lambda t: t.sum(dim, keepdim=keep))
        check_op(lambda t: t.mean(dim, keepdim=keep), [x], lambda t: t.mean(dim, keepdim=keep))


@given(sdk=shape_and_dim(), seed=st.integers(0, 2 ** 16), correction=st.sampled_from([0, 1]))
def test_var_std(sdk, seed, correction):
    shape, dim, keep = sdk
    x = np.random.default_rng(seed).standard_normal(shape) + 0.1 * np.arange(np.prod(shape)).reshape(shape)
    n = np.prod(shape) if dim is None else np.prod([shape[d] for d in np.atleast_1d(dim)])
    if n - correction <= 0:
        return
    check_op(lambda t: t.var(dim, keepdim=keep, correction=correction), [x],
             lambda t: t.var(dim, keepdim=keep, correction=correction))
    check_op(lambda t: t.std(dim, keepdim=keep, correction=correction), [x],
             lambda t: t.std(dim, keepdim=keep, correction=correction))


def _distinct(rng, shape):
    """Values far apart, so max/min have no ties and finite differences do not cross a kink."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + rng.uniform(0, 0.1, shape)).astype(np.float64)


@given(sdk=shape_and_dim(), seed=st.integers(0, 2 ** 16))
def test_amax_amin(sdk, seed):
    shape, dim, keep = sdk
    x = _distinct(np.random.default_rng(seed), shape)
    d = tuple(range(len(shape))) if dim is None else dim
    check_op(lambda t: t.amax(d, keepdim=keep), [x], lambda t: t.amax(d, keepdim=keep))
    check_op(lambda t: t.amin(d, keepdim=keep), [x], lambda t: t.amin(d, keepdim=keep))


@given(shape=shapes, seed=st.integers(0, 2 ** 16), keep=st.booleans(), data=st.data())
def test_max_min_with_dim_return_values_and_indices(shape, seed, keep, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _distinct(np.random.default_rng(seed), shape)
    check_op(lambda t: t.max(dim, keepdim=keep)[0], [x], lambda t: t.max(dim, keepdim=keep)[0])
    check_op(lambda t: t.min(dim, keepdim=keep).values, [x], lambda t: t.min(dim, keepdim=keep).values)
    if torch is not None:
        assert np.array_equal(minigrad.tensor(x).max(dim, keepdim=keep).indices.numpy(),
                              torch.tensor(x).max(dim, keepdim=keep).indices.numpy())
        assert np.array_equal(minigrad.tensor(x).argmax(dim).numpy(), torch.tensor(x).argmax(dim).numpy())


def test_amax_ties_share_gradient_like_torch():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])        # ties: no derivative, torch's rule
    check_op(lambda t: t.amax(1), [x], lambda t: t.amax(1), gradcheck=False)


@given(shape=shapes, seed=st.integers(0, 2 ** 16), data=st.data())
def test_softmax_log_softmax_logsumexp(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    check_op(lambda t: t.softmax(dim), [x], lambda t: t.softmax(dim))
    check_op(lambda t: t.log_softmax(dim), [x], lambda t: t.log_softmax(dim))
    check_op(lambda t: t.logsumexp(dim), [x], lambda t: t.logsumexp(dim))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_softmax_is_stable_for_logits_of_1e4(dtype):
    x = np.array([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]], dtype=dtype)
    for name in ("log_softmax", "softmax"):
        (y,) = check_op(lambda t: getattr(t, name)(1), [x], lambda t: getattr(t, name)(1), grad_inputs=[0],
                        gradcheck=False, rtol=1e-5, atol=1e-6)
        assert np.all(np.isfinite(y.detach().numpy()))
    check_op(lambda t: t.logsumexp(1), [x], lambda t: t.logsumexp(1), grad_inputs=[], rtol=1e-6)


def test_logsumexp_of_all_minus_inf_row():
    x = minigrad.tensor([[-np.inf, -np.inf], [0.0, 0.0]])
    out = x.logsumexp(1).numpy()
    assert out[0] == -np.inf and np.isclose(out[1], np.log(2))


def test_integer_sum_is_int64_and_mean_of_int_raises():
    assert minigrad.tensor([1, 2, 3], dtype=minigrad.int32).sum().dtype == minigrad.int64
    assert minigrad.tensor([True, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="floating"):
        minigrad.tensor([1, 2]).mean()


def test_dim_out_of_range_is_named():
    with pytest.raises(IndexError, match="dimension 3"):
        minigrad.ones(2, 3).sum(3)


def test_norm():
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_op(lambda t: t.norm(), [x], lambda t: t.norm())
    check_op(lambda t: t.norm(2, dim=1), [x], lambda t: t.norm(2, dim=1))


@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_norm_gradient_at_a_zero_vector_is_zero_like_torch(p):
    # weight-decay style penalties reach norm(0); the gradient there must be 0, not 0 * inf = nan
    a = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 1.0]])
    check_op(lambda t: t.norm(p, dim=1), [a], lambda t: t.norm(p, dim=1), gradcheck=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dim", [0, -1])
def test_zero_d_tensor_along_dim_0_like_torch(dim):
    """PyTorch treats a 0-d tensor as having one dim (0 or -1) for ops along a dim."""
    for op in (lambda t: t.softmax(dim), lambda t: t.log_softmax(dim), lambda t: t.max(dim).values,
               lambda t: t.min(dim, keepdim=True).values):
        (y,) = check_op(op, [np.array(1.5)], op)
        assert y.shape == ()
    x = minigrad.tensor(1.5)
    for op in ("argmax", "argmin"):
        i = getattr(x, op)(dim)
        assert i.shape == () and i.item() == 0 and i.dtype == minigrad.int64
        if torch is not None:
            assert getattr(torch.tensor(1.5), op)(dim).item() == 0
    assert x.max(dim).indices.shape == ()
    with pytest.raises(IndexError, match="dimension 1"):
        x.softmax(1)
