"""minigrad/ops/elementwise.py: forward and gradients against torch, gradcheck and gradgradcheck."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from helpers import away_from_zero, check_op, like, requires_torch, torch

broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


@given(shapes=broadcast_pairs, seed=st.integers(0, 2 ** 16))
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_arithmetic_broadcast(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes.input_shapes[0])
    b = away_from_zero(rng, shapes.input_shapes[1], 0.5, 2.0)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    check_op(fn, [a, b], fn)


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2 ** 16))
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "neg",
                                  "rsqrt"])
def test_unary(name, shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape, 0.2, 2.0)
    if name in ("log", "sqrt", "rsqrt"):
        x = np.abs(x)
    check_op(lambda t: getattr(t, name)(), [x], lambda t: getattr(t, name)())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_fast_backward_matches_its_graph_form(dtype):
    """relu's first-order gradient is one kernel pass; with create_graph it is a graph: the same values."""
    rng = np.random.default_rng(3)
    x = minigrad.tensor(away_from_zero(rng, (4, 3, 5)).astype(dtype), requires_grad=True)
    gy = minigrad.tensor(rng.standard_normal((4, 3, 5)).astype(dtype))
    fast, = minigrad.autograd.grad(minigrad.relu(x), [x], gy)
    graph, = minigrad.autograd.grad(minigrad.relu(x), [x], gy, create_graph=True)
    assert fast.dtype == graph.dtype == x.dtype
    np.testing.assert_array_equal(fast.numpy(), graph.detach().numpy())


@given(shapes=broadcast_pairs, seed=st.integers(0, 2 ** 16))
def test_pow_tensor_exponent(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shapes.input_shapes[0])
    b = rng.uniform(-2, 2, shapes.input_shapes[1])
    check_op(lambda x, y: x ** y, [a, b], lambda x, y: x ** y)


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.5])
def test_pow_scalar_exponent(p):
    x = np.random.default_rng(1).uniform(0.5, 2.0, (3, 4))
    check_op(lambda t: t ** p, [x], lambda t: t ** p)
    check_op(lambda t: p ** t, [x], lambda t: p ** t)


def test_clamp_maximum_minimum_where():
    rng = np.random.default_rng(2)
    x = away_from_zero(rng, (4, 5))
    y = x + away_from_zero(rng, (4, 5), 0.1, 0.5)  # never ties
    check_op(lambda t: t.clamp(-0.5, 1.0), [x], lambda t: t.clamp(-0.5, 1.0))
    check_op(lambda t: t.clamp(min=0.3), [x], lambda t: t.clamp(min=0.3))
    check_op(minigrad.maximum, [x, y], lambda a, b: torch.maximum(a, b))
    check_op(minigrad.minimum, [x, y[:1]], lambda a, b: torch.minimum(a, b))
    cond = x > 0
    check_op(lambda a, b: minigrad.where(like(a, cond), a, b), [x, y[0]],
             lambda a, b: torch.where(torch.tensor(cond), a, b))


def test_maximum_ties_split_the_gradient_like_torch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])     # ties: no derivative, torch's rule
    check_op(minigrad.maximum, [a, b], lambda x, y: torch.maximum(x, y), gradcheck=False)


def test_python_scalars_never_upcast_float32():
    x = minigrad.ones(3)
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3.0, x ** 2.0, 1.0 - x, x.clamp(0.5, 2)):
        assert y.dtype == minigrad.float32


@requires_torch
@pytest.mark.parametrize("a,b", [("float32", "float64"), ("int64", "float32"), ("bool", "int64"),
                                 ("int32", "int64"), ("uint8", "float64")])
def test_tensor_dtype_promotion_matches_torch(a, b):
    x = minigrad.ones(2, dtype=a)
    y = minigrad.ones(2, dtype=b)
    tx = torch.ones(2, dtype=getattr(torch, a))
    ty = torch.ones(2, dtype=getattr(torch, b))
    assert (x + y).dtype.name == str((tx + ty).dtype).replace("torch.", "")


def test_integer_division_gives_float():
    assert (minigrad.tensor([3, 4]) / 2).dtype == minigrad.float32


def test_comparisons_have_no_gradient():
    x = minigrad.tensor([1.0, -2.0], requires_grad=True)
    for c in (x > 0, x >= 0, x < 0, x <= 0, x == 1, x != 1):
        assert c.dtype == minigrad.bool and not c.requires_grad
    assert (x > 0).tolist() == [True, False]


def test_broadcast_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        minigrad.ones(2, 3) * minigrad.ones(4)


def test_sigmoid_and_exp_are_stable_at_extremes():
    x = minigrad.tensor([-1e4, 0.0, 1e4], requires_grad=True)
    s = x.sigmoid()
    assert np.allclose(s.detach().numpy(), [0.0, 0.5, 1.0])
    s.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_pow_gradient_at_zero_base_and_zero_exponent_like_torch():
    # d(a^b)/da is 0 where b == 0 (not 0 * 0^-1 = nan); d(a^b)/db is 0 where a == 0, b >= 0 (not 0 * log 0)
    av, bv = np.array([0.0, 0.0, 2.0, 0.0, 1.5]), np.array([0.0, 2.0, 0.0, 0.5, 3.0])
    check_op(lambda a, b: a ** b, [av, bv], lambda a, b: a ** b, gradcheck=False, rtol=1e-12)
    x = minigrad.tensor([0.0, 1.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


@requires_torch
@pytest.mark.parametrize("da, shape_a, db, shape_b", [
    ("float32", (2,), "float64", ()),      # a 0-d float64 does not upcast a float32 tensor
    ("float64", (), "float32", (2,)),
    ("int64", (2,), "float64", ()),        # higher category: the 0-d decides
    ("int32", (2,), "int64", ()),
    ("bool", (2,), "int64", ()),
    ("float16", (2,), "float64", ()),
    ("float32", (), "float64", ()),        # both 0-d: ordinary promotion
    ("float32", (2,), "float64", (2,)),
])
def test_zero_d_tensor_promotion_matches_torch(da, shape_a, db, shape_b):
    a = np.ones(shape_a, dtype=da)
    b = np.full(shape_b, 2, dtype=db)
    got = (minigrad.tensor(a) * minigrad.tensor(b)).dtype
    want = (torch.tensor(a) * torch.tensor(b)).dtype
    assert str(want) == "torch." + got.name


@pytest.mark.parametrize("bounds", [("min", "max"), ("min",), ("max",)])
def test_clamp_with_tensor_bounds_matches_torch(bounds):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4))
    lo = rng.standard_normal((3, 4)) - 0.5
    hi = rng.standard_normal((4,)) + 0.5
    lo[0, 0], hi[0] = 1.0, 0.0       # min > max there: max wins
    arrays = [x] + [{"min": lo, "max": hi}[k] for k in bounds]
    check_op(lambda t, *b: t.clamp(**dict(zip(bounds, b))), arrays, lambda t, *b: t.clamp(**dict(zip(bounds, b))),
             kinks=lambda x, *b: any(np.abs(x - c).min() < 1e-3 for c in b))


@requires_torch
@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1, 0), (1, 0.5), (True, False)])
def test_where_with_two_numbers_matches_torch(a, b):
    c = np.array([True, False, True])
    y, yt = minigrad.where(minigrad.tensor(c), a, b), torch.where(torch.tensor(c), a, b)
    assert str(yt.dtype) == "torch." + y.dtype.name
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
