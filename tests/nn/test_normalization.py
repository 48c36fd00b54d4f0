"""minigrad/nn/normalization.py: BatchNorm over several training steps then eval against torch (running
statistics, num_batches_tracked, momentum=None, affine/track_running_stats off), gradchecked with a random
upstream gradient; LayerNorm, GroupNorm, LocalResponseNorm."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.autograd import gradcheck, gradgradcheck
from nn_helpers import check_module, tnn, torch

requires_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _batches(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2) for _ in range(n)]


@requires_torch
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 3, 2))])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3),
                                dict(affine=False), dict(track_running_stats=False), dict(bias=False)])
def test_batchnorm_training_steps_then_eval(cls, shape, kw):
    m, tm = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    if kw.get("affine", True):
        with torch.no_grad():                        # non-trivial affine parameters
            tm.weight.uniform_(0.5, 1.5)
            if tm.bias is not None:
                tm.bias.uniform_(-1, 1)
    m.double().load_state_dict(tm.double().state_dict())
    for i, x in enumerate(_batches(shape, 4)):       # training steps: batch stats, running stats updated
        check_module(m, tm, x, train=True, load=False, check_grad=(i == 0), seed=i)
    if kw.get("track_running_stats", True):
        assert int(m.num_batches_tracked.item()) == 4 == int(tm.num_batches_tracked.item())
        np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), rtol=1e-12)
    for i, x in enumerate(_batches(shape, 2, seed=1)):   # eval: running stats, nothing updated
        before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
        check_module(m, tm, x, train=False, load=False, check_grad=(i == 0), seed=10 + i)
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), before[k])


def test_batchnorm_gradgradcheck():
    """The fused backward is written with minigrad ops: second derivatives check too."""
    m = nn.BatchNorm1d(2).double()
    with minigrad.no_grad():
        m.weight.uniform_(0.5, 1.5)
    x = minigrad.tensor(np.random.default_rng(5).standard_normal((4, 2)) * 2, requires_grad=True)
    assert gradcheck(lambda x, w, b: m(x), (x, m.weight, m.bias))
    assert gradgradcheck(lambda x, w, b: m(x), (x, m.weight, m.bias))


def test_batchnorm_input_checks():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(minigrad.randn(2, 3, 4))
    with pytest.raises(ValueError, match="3 channels"):
        nn.BatchNorm1d(4)(minigrad.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(minigrad.randn(1, 3))
    m = nn.BatchNorm1d(3).eval()
    assert m(minigrad.randn(1, 3)).shape == (1, 3)       # eval with one sample is fine


def test_batchnorm_defaults():
    m = nn.BatchNorm2d(4)
    assert m.eps == 1e-5 and m.momentum == 0.1
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones(4))
    np.testing.assert_array_equal(m.bias.detach().numpy(), np.zeros(4))
    np.testing.assert_array_equal(m.running_mean.numpy(), np.zeros(4))
    np.testing.assert_array_equal(m.running_var.numpy(), np.ones(4))
    assert m.num_batches_tracked.dtype == minigrad.int64 and m.num_batches_tracked.shape == ()


@requires_torch
@pytest.mark.parametrize("shape,norm,kw", [((3, 5), 5, {}), ((2, 3, 4), (3, 4), {}), ((2, 4), 4, dict(bias=False)),
                                           ((2, 3, 4), 4, dict(elementwise_affine=False, eps=1e-3))])
def test_layernorm(shape, norm, kw):
    m, tm = nn.LayerNorm(norm, **kw), torch.nn.LayerNorm(norm, **kw)
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
    x = np.random.default_rng(6).standard_normal(shape) * 2 + 1
    check_module(m, tm, x)


@requires_torch
@pytest.mark.parametrize("groups,kw", [(1, {}), (2, {}), (4, dict(affine=False)), (2, dict(eps=1e-2))])
def test_groupnorm(groups, kw):
    m, tm = nn.GroupNorm(groups, 4, **kw), torch.nn.GroupNorm(groups, 4, **kw)
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
    x = np.random.default_rng(7).standard_normal((2, 4, 3, 2)) * 2
    check_module(m, tm, x)


@pytest.mark.parametrize("size", [2, 3, 5])
def test_local_response_norm(size):
    x = np.random.default_rng(8).standard_normal((2, 6, 3, 3))
    check_module(nn.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0),
                 tnn.LocalResponseNorm(size, alpha=1e-2, beta=0.75, k=2.0), x)


@requires_torch
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 2, 5)), ("InstanceNorm2d", (2, 2, 3, 3)),
                                       ("InstanceNorm2d", (2, 3, 3))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True), dict(affine=True, track_running_stats=True),
                                dict(track_running_stats=True, momentum=None)])
def test_instancenorm_steps_then_eval(cls, shape, kw):
    C = shape[-3] if cls == "InstanceNorm2d" else shape[-2]
    m, tm = getattr(nn, cls)(C, **kw), getattr(torch.nn, cls)(C, **kw)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
    m.double().load_state_dict(tm.double().state_dict())
    for i, x in enumerate(_batches(shape, 3)):
        check_module(m, tm, x, train=True, load=False, check_grad=(i == 0), seed=i)
    x = _batches(shape, 1, seed=3)[0]
    check_module(m, tm, x, train=False, load=False, check_grad=True)


@requires_torch
@pytest.mark.parametrize("cls,shape", [("BatchNorm2d", (0, 3, 4, 4)), ("BatchNorm1d", (0, 3)),
                                       ("BatchNorm1d", (0, 3, 5))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_empty_batch_gives_an_empty_output_like_torch(cls, shape, momentum):
    m, tm = getattr(nn, cls)(3, momentum=momentum), getattr(torch.nn, cls)(3, momentum=momentum)
    x = minigrad.zeros(*shape, requires_grad=True)
    tx = torch.zeros(*shape, requires_grad=True)
    y, ty = m(x), tm(tx)
    assert y.shape == tuple(ty.shape)
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.shape == tuple(tx.grad.shape)
    np.testing.assert_array_equal(m.weight.grad.numpy(), tm.weight.grad.numpy())     # zeros
    np.testing.assert_array_equal(m.running_mean.numpy(), tm.running_mean.numpy())   # unchanged
    np.testing.assert_array_equal(m.running_var.numpy(), tm.running_var.numpy())
    assert int(m.num_batches_tracked.item()) == int(tm.num_batches_tracked) == 1
    m.eval()
    tm.eval()
    assert m(minigrad.zeros(*shape)).shape == tuple(tm(torch.zeros(*shape)).shape)
