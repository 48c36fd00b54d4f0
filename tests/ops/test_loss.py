"""minigrad/ops/loss.py: every loss against torch.nn.functional for each reduction, gradchecked with a
random upstream gradient; stability for logits of magnitude 1e4; error messages."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from helpers import check_op, torch

TF = torch.nn.functional if torch is not None else None
REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


def _away(x, y, gap=0.05):
    """Move x so that |x - y| is not within gap of 0 (the kink of |d|)."""
    d = x - y
    return np.where(np.abs(d) < gap, y + np.sign(d + 1e-12) * gap * 2, x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = _away(x, y)
    check_op(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y],
             lambda a, b: TF.mse_loss(a, b, reduction=reduction))
    check_op(lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, y],
             lambda a, b: TF.l1_loss(a, b, reduction=reduction))
    for beta in (0.0, 0.5, 1.0):
        xb = _away(_away(x, y + beta), y - beta)
        check_op(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [xb, y],
                 lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta))
    check_op(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=0.5), [_away(_away(x, y + .5), y - .5), y],
             lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=0.5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p = rng.uniform(0.05, 0.95, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (4, 3))
    check_op(lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction), [p, t],
             lambda p, t: TF.binary_cross_entropy(p, t, reduction=reduction))
    check_op(lambda p: F.binary_cross_entropy(p, minigrad.tensor(t), minigrad.tensor(w), reduction=reduction), [p],
             lambda p: TF.binary_cross_entropy(p, torch.tensor(t), torch.tensor(w), reduction=reduction))


def test_binary_cross_entropy_at_0_and_1():
    p = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    t = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    check_op(lambda x: F.binary_cross_entropy(x, minigrad.tensor(t)), [p],
             lambda x: TF.binary_cross_entropy(x, torch.tensor(t)), gradcheck=False)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(minigrad.tensor([1.5]), minigrad.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x = rng.standard_normal((4, 3)) * 3
    t = rng.uniform(0, 1, (4, 3))
    w, pw = rng.uniform(0.5, 2, (3,)), rng.uniform(0.5, 3, (3,))
    check_op(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction), [x, t],
             lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction))
    # torch differentiates neither weight nor pos_weight: they are constants here
    check_op(lambda x, t: F.binary_cross_entropy_with_logits(x, t, minigrad.tensor(w), reduction=reduction,
                                                             pos_weight=minigrad.tensor(pw)), [x, t],
             lambda x, t: TF.binary_cross_entropy_with_logits(x, t, torch.tensor(w), reduction=reduction,
                                                              pos_weight=torch.tensor(pw)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, smoothing, weighted):
    x = rng.standard_normal((5, 4)) * 2
    t = np.array([0, 3, -100, 1, 3])
    w = rng.uniform(0.5, 2, 4) if weighted else None
    mw = minigrad.tensor(w) if weighted else None
    tw = torch.tensor(w) if weighted and torch is not None else None
    check_op(lambda x: F.cross_entropy(x, minigrad.tensor(t), mw, reduction=reduction, label_smoothing=smoothing),
             [x], lambda x: TF.cross_entropy(x, torch.tensor(t), tw, reduction=reduction,
                                            label_smoothing=smoothing))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_ignore_index(reduction):
    x = rng.standard_normal((2, 3, 2, 2))
    t = rng.integers(0, 3, (2, 2, 2))
    t[0, 1, 0] = 7
    w = rng.uniform(0.5, 2, 3)
    check_op(lambda x: F.cross_entropy(x, minigrad.tensor(t), minigrad.tensor(w), ignore_index=7,
                                       reduction=reduction, label_smoothing=0.1), [x],
             lambda x: TF.cross_entropy(x, torch.tensor(t), torch.tensor(w), ignore_index=7, reduction=reduction,
                                        label_smoothing=0.1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, smoothing):
    x = rng.standard_normal((3, 4, 2))
    p = rng.uniform(0, 1, (3, 4, 2))
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 4)
    check_op(lambda x, p: F.cross_entropy(x, p, reduction=reduction, label_smoothing=smoothing), [x, p],
             lambda x, p: TF.cross_entropy(x, p, reduction=reduction, label_smoothing=smoothing))
    check_op(lambda x: F.cross_entropy(x, minigrad.tensor(p), minigrad.tensor(w), reduction=reduction), [x],
             lambda x: TF.cross_entropy(x, torch.tensor(p), torch.tensor(w), reduction=reduction))


def test_cross_entropy_unbatched():
    x = rng.standard_normal(5)
    check_op(lambda x: F.cross_entropy(x, minigrad.tensor(2)), [x], lambda x: TF.cross_entropy(x, torch.tensor(2)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_stable_for_logits_1e4(dtype):
    x = (rng.standard_normal((6, 5)) * 1e4).astype(dtype)
    x[0] = [1e4, -1e4, 1e4, 0, 3]
    t = np.array([1, 0, 4, 2, 3, 1])
    (loss,) = check_op(lambda a: F.cross_entropy(a, minigrad.tensor(t), label_smoothing=0.1), [x],
                       lambda a: TF.cross_entropy(a, torch.tensor(t), label_smoothing=0.1), grad_inputs=[0],
                       gradcheck=False, rtol=1e-5, atol=1e-7)
    assert np.isfinite(loss.item())
    # the binary losses on logits of 1e4 too
    z, y = x[:, :1] * 1.0, (x[:, 1:2] > 0).astype(dtype)
    check_op(lambda a: F.binary_cross_entropy_with_logits(a, minigrad.tensor(y)), [z],
             lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(y)), grad_inputs=[0],
             gradcheck=False, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    x = np.log(rng.dirichlet(np.ones(4), 5))
    t = np.array([1, 0, 3, 3, -100])
    w = rng.uniform(0.5, 2, 4)
    check_op(lambda x: F.nll_loss(x, minigrad.tensor(t), minigrad.tensor(w), reduction=reduction), [x],
             lambda x: TF.nll_loss(x, torch.tensor(t), torch.tensor(w), reduction=reduction))
    check_op(lambda x: F.nll_loss(x, minigrad.tensor(t), reduction=reduction), [x],
             lambda x: TF.nll_loss(x, torch.tensor(t), reduction=reduction))


def test_nll_loss_errors():
    x = minigrad.randn(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.nll_loss(x, minigrad.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r"expected target of shape \(3,\)"):
        F.cross_entropy(x, minigrad.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="integer dtype"):
        F.nll_loss(x, minigrad.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, x, reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin_loss(reduction, p, margin):
    x = rng.standard_normal((4, 5))
    t = np.array([0, 4, 2, 2])
    w = rng.uniform(0.5, 2, 5)
    # keep every margin term away from its kink at 0
    xt = x[np.arange(4), t][:, None]
    x = np.where(np.abs(margin - xt + x) < 0.05, x + 0.1, x)
    check_op(lambda x: F.multi_margin_loss(x, minigrad.tensor(t), p=p, margin=margin, reduction=reduction), [x],
             lambda x: TF.multi_margin_loss(x, torch.tensor(t), p=p, margin=margin, reduction=reduction))
    check_op(lambda x: F.multi_margin_loss(x, minigrad.tensor(t), p=p, margin=margin, weight=minigrad.tensor(w),
                                           reduction=reduction), [x],
             lambda x: TF.multi_margin_loss(x, torch.tensor(t), p=p, margin=margin, weight=torch.tensor(w),
                                            reduction=reduction))


def test_multi_margin_loss_is_cs231n_over_C():
    """The docstring's relation: CS231n's SVM loss = C * PyTorch's multi_margin_loss."""
    s = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    margins = np.maximum(0, s - s[np.arange(6), y][:, None] + 1.0)
    margins[np.arange(6), y] = 0
    cs231n = margins.sum() / 6
    ours = F.multi_margin_loss(minigrad.tensor(s), minigrad.tensor(y)).item()
    np.testing.assert_allclose(cs231n, 4 * ours, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(4), 3))
    q = rng.dirichlet(np.ones(4), 3)
    q[0, 1] = 0.0            # a zero target contributes 0
    t = np.log(q + 1e-3) if log_target else q
    check_op(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), [x, t],
             lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
             grad_inputs=[0, 1] if log_target else [0])


@given(n=st.integers(1, 4), c=st.integers(2, 5), seed=st.integers(0, 10 ** 4),
       smoothing=st.sampled_from([0.0, 0.1]), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_hypothesis(n, c, seed, smoothing, reduction):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, c)) * 5
    t = r.integers(0, c, n)
    check_op(lambda a: F.cross_entropy(a, minigrad.tensor(t), reduction=reduction, label_smoothing=smoothing), [x],
             lambda a: TF.cross_entropy(a, torch.tensor(t), reduction=reduction, label_smoothing=smoothing),
             atol=1e-12, rtol=1e-10, fast=True, second_order=False, gradcheck_kwargs=dict(n_directions=2))
