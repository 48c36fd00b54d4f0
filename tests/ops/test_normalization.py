"""minigrad/ops/normalization.py: batch_norm, layer_norm, group_norm against torch; gradcheck and gradgradcheck
(the fused Standardize backward must be twice differentiable) with a random upstream gradient."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from helpers import check_op, requires_torch, torch
from minigrad.ops.normalization import standardize

TF = torch.nn.functional if torch is not None else None


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * 2 + rng.standard_normal(shape[1:2] + (1,) * (len(shape) - 2))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 3, 2)])
def test_batch_norm_training(shape):
    x = _data(shape)
    C = shape[1]
    w, b = np.linspace(0.5, 1.5, C), np.linspace(-1, 1, C)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             [x, w, b], lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True))


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3, 2)])
def test_batch_norm_eval(shape):
    x = _data(shape, 1)
    C = shape[1]
    rm, rv = np.linspace(-1, 1, C), np.linspace(0.5, 2, C)
    w, b = np.linspace(0.5, 1.5, C), np.linspace(-1, 1, C)
    check_op(lambda x, w, b: F.batch_norm(x, minigrad.tensor(rm), minigrad.tensor(rv), w, b, training=False),
             [x, w, b],
             lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b, training=False))


@requires_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_updates_running_stats(momentum):
    x = _data((5, 3, 4), 2)
    rm, rv = minigrad.zeros(3, dtype=minigrad.float64), minigrad.ones(3, dtype=minigrad.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        F.batch_norm(minigrad.tensor(x), rm, rv, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=momentum)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)   # unbiased variance


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(minigrad.randn(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match=r"running_mean should have shape \(3,\)"):
        F.batch_norm(minigrad.randn(2, 3), minigrad.zeros(4), minigrad.ones(3))


@pytest.mark.parametrize("shape,norm", [((3, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 2, 3, 2), (2,))])
def test_layer_norm(shape, norm):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.uniform(0.5, 1.5, norm), rng.standard_normal(norm)
    check_op(lambda x, w, b: F.layer_norm(x, norm, w, b, eps=1e-5), [x, w, b],
             lambda x, w, b: TF.layer_norm(x, norm, w, b, eps=1e-5))
    check_op(lambda x: F.layer_norm(x, norm), [x], lambda x: TF.layer_norm(x, norm))


@pytest.mark.parametrize("shape,groups", [((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((1, 4, 2, 2), 4)])
def test_group_norm(shape, groups):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 2
    C = shape[1]
    w, b = rng.uniform(0.5, 1.5, C), rng.standard_normal(C)
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b), [x, w, b],
             lambda x, w, b: TF.group_norm(x, groups, w, b))


@given(n=st.integers(2, 4), c=st.integers(1, 3), h=st.integers(1, 3), seed=st.integers(0, 1000),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_standardize_property(n, c, h, seed, eps):
    """Output has zero mean and variance var / (var + eps) over the reduced axes."""
    x = np.random.default_rng(seed).standard_normal((n, c, h)) * 3 + 2
    y = standardize(minigrad.tensor(x), (0, 2), eps).numpy()
    v = x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2), keepdims=True), v / (v + eps), rtol=1e-10)


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(minigrad.randn(2, 3), (4,))
    with pytest.raises(RuntimeError, match="divisible"):
        F.group_norm(minigrad.randn(2, 3, 2), 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape", [(16, 5, 6, 7), (9, 4), (3, 2, 11)])
def test_batch_norm_fast_path_matches_graph_form(shape, affine, training, dtype):
    """The fused BatchNorm (first-order kernels) against its graph form: forward and every gradient."""
    from minigrad.ops.normalization import _batch_norm_graph
    rng = np.random.default_rng(3)
    C = shape[1]
    x = (rng.standard_normal(shape) * 3 + 5).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    params = {"weight": rng.uniform(0.5, 1.5, C).astype(dtype), "bias": rng.uniform(-1, 1, C).astype(dtype)}
    if affine == "weight":
        del params["bias"]
    elif affine == "none":
        params = {}
    rm, rv = minigrad.tensor(rng.standard_normal(C)), minigrad.tensor(rng.uniform(0.5, 2, C))
    results = []
    for form in ("fast", "graph"):
        ts = [minigrad.tensor(x, requires_grad=True)] + [minigrad.tensor(p, requires_grad=True)
                                                         for p in params.values()]
        kw = {k: t for k, t in zip(params, ts[1:])}
        if form == "fast":
            y = F.batch_norm(ts[0], rm.clone(), rv.clone(), training=training, **kw)
        else:
            y = _batch_norm_graph(ts[0], (rm, rv), kw.get("weight"), kw.get("bias"), training, 1e-5)
        y.backward(minigrad.tensor(gy))
        results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
        assert y.dtype == x.dtype and all(t.grad.dtype == t.dtype for t in ts)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, **tol)


def test_batch_norm_only_some_inputs_need_grad():
    rng = np.random.default_rng(4)
    x = minigrad.tensor(rng.standard_normal((6, 3, 4)))
    w = minigrad.tensor(rng.uniform(0.5, 1.5, 3), requires_grad=True)
    F.batch_norm(x, None, None, w, None, training=True).sum().backward()
    assert x.grad is None and w.grad.shape == (3,)
    x.requires_grad_(True)
    w2 = w.detach()
    F.batch_norm(x, None, None, w2, None, training=True).backward(minigrad.tensor(rng.standard_normal((6, 3, 4))))
    assert x.grad.shape == (6, 3, 4) and w2.grad is None


def test_batch_norm_float16_runs_as_a_graph_and_updates_running_stats():
    x = np.random.default_rng(5).standard_normal((8, 3, 4)).astype(np.float16)
    rm, rv = minigrad.zeros(3), minigrad.ones(3)
    y = F.batch_norm(minigrad.tensor(x), rm, rv, training=True, momentum=1.0)
    assert y.dtype == minigrad.float16
    np.testing.assert_allclose(rm.numpy(), x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(rv.numpy(), x.astype(np.float64).var(axis=(0, 2), ddof=1), rtol=1e-3)
