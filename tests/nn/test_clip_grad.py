"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""
import math

import numpy as np
import pytest

import minigrad
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def pair(scale=1.0, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]
    mg, th = [], []
    for g in grads:
        p = minigrad.zeros(*g.shape, dtype=g.dtype, requires_grad=True)
        p.grad = minigrad.tensor(g)
        q = torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
        q.grad = torch.tensor(g)
        mg.append(p)
        th.append(q)
    return mg, th


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    mg, th = pair(dtype=dtype)
    total = clip_grad_norm_(mg, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(th, max_norm, norm_type=float(norm_type))
    assert isinstance(total, minigrad.Tensor) and total.shape == () and total.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=rtol)
    for p, q in zip(mg, th):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)
    if max_norm == 0.5:   # after clipping the norm is max_norm (up to the 1e-6 guard)
        again = clip_grad_norm_(mg, 1e9, norm_type=norm_type)
        np.testing.assert_allclose(again.item(), max_norm, rtol=1e-5)


def test_single_tensor_none_grads_and_empty():
    p = minigrad.tensor([3.0, 4.0], requires_grad=True)
    q = minigrad.zeros(2, requires_grad=True)   # no gradient: skipped
    p.grad = minigrad.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    assert clip_grad_norm_([q], 1.0).item() == 0.0 and q.grad is None
    clip_grad_norm_([p, q], 1.0)
    assert q.grad is None


def test_error_if_nonfinite():
    mg, th = pair()
    mg[1].grad.array[2] = np.inf
    th[1].grad[2] = math.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(mg, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(mg, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(th, 1.0)
    assert math.isinf(total.item()) and math.isinf(ttotal.item())
    for p, q in zip(mg, th):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_shared_gradient_arrays_are_scaled_once():
    """Two parameters whose .grad share one array (as the engine may produce) are each scaled once."""
    a, b = minigrad.zeros(2, requires_grad=True), minigrad.zeros(2, requires_grad=True)
    g = minigrad.tensor([3.0, 4.0])
    a.grad, b.grad = g, g.detach()
    assert a.grad.array is b.grad.array
    total = clip_grad_norm_([a, b], 1.0)
    np.testing.assert_allclose(total.item(), math.sqrt(50), rtol=1e-6)
    expected = np.array([3.0, 4.0]) / (math.sqrt(50) + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), expected, rtol=1e-6)


def test_gradient_identity_kept():
    mg, _ = pair(scale=10.0)
    before = [p.grad for p in mg]
    clip_grad_norm_(mg, 1.0)
    clip_grad_value_(mg, 0.1)
    assert all(p.grad is g for p, g in zip(mg, before))


@pytest.mark.parametrize("clip_value", [0.1, 0.5, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    mg, th = pair(scale=2.0)
    clip_grad_value_(mg, clip_value)
    torch.nn.utils.clip_grad_value_(th, clip_value)
    for p, q in zip(mg, th):
        assert p.grad.dtype == minigrad.float32
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_clip_in_a_training_step():
    """Backward, clip, step: the update equals lr * clipped gradient."""
    w = minigrad.tensor([1.0, 2.0, 2.0], requires_grad=True)
    (w * w).sum().backward()          # grad = 2w, norm 6
    opt = minigrad.optim.SGD([w], lr=0.5)
    total = clip_grad_norm_([w], 3.0)
    opt.step()
    assert total.item() == pytest.approx(6.0)
    np.testing.assert_allclose(w.detach().numpy(), np.array([1.0, 2.0, 2.0]) * (1 - 0.5 * 2 * 3 / (6 + 1e-6)),
                               rtol=1e-6)


@pytest.mark.skipif(not minigrad.is_cuda_available(), reason="no CUDA GPU (or no CuPy)")
def test_cuda_matches_cpu():
    mg, _ = pair(scale=3.0)
    gpu = []
    for p in mg:
        q = minigrad.zeros(*p.shape, device="cuda", requires_grad=True)
        q.grad = p.grad.cuda()
        gpu.append(q)
    total, gtotal = clip_grad_norm_(mg, 1.0), clip_grad_norm_(gpu, 1.0)
    assert gtotal.device == "cuda:0"
    np.testing.assert_allclose(gtotal.cpu().item(), total.item(), rtol=1e-6)
    clip_grad_value_(mg, 0.05)
    clip_grad_value_(gpu, 0.05)
    for p, q in zip(mg, gpu):
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.numpy(), rtol=1e-6)
