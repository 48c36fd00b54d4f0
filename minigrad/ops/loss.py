"""Losses, PyTorch's names, arguments and normalisations. ``reduction`` is 'mean', 'sum' or 'none'.

All are composites of primitives except binary_cross_entropy (a primitive: its log is clamped at -100 as
PyTorch does, and the gradient there must stay finite). Logits enter through log_softmax or softplus, so
logits of magnitude 1e4 give finite losses and gradients.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .activation import Softplus
from .elementwise import as_tensor_pair, clamp, exp, log, scalar_like, where
from .reduce import log_softmax, sum
from .shape import getitem, permute, reshape


def _reduce(loss, reduction, name="loss"):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction (use 'mean', 'sum' or 'none')")


def _check_same_shape(name, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} must match input shape "
                         f"{tuple(input.shape)}")


def _as_target(target, like):
    return target if isinstance(target, Tensor) else Tensor._wrap(like._xp.asarray(target, dtype=like.dtype))


# ------------------------------------------------------------------------------------ regression

def mse_loss(input, target, reduction="mean"):
    """(x - y)^2, reduced."""
    input, target = as_tensor_pair(input, target)
    _check_same_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|x - y|, reduced."""
    input, target = as_tensor_pair(input, target)
    _check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); beta = 0 is the L1 loss."""
    input, target = as_tensor_pair(input, target)
    _check_same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    return _reduce(where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1_loss(beta=delta) * delta."""
    input, target = as_tensor_pair(input, target)
    _check_same_shape("huber_loss", input, target)
    d = (input - target).abs()
    return _reduce(where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta), reduction, "huber_loss")


# ------------------------------------------------------------------------------------ binary

class BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)) with each log clamped at -100 (PyTorch's rule, so x = 0 or 1 gives
    a finite loss). d/dx = (x - t) / max(x (1 - x), 1e-12); d/dt = log(1 - x) - log(x) (clamped logs)."""

    def forward(self, x, t):
        xp = self.xp
        with np.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log(1 - x), -100)
        return -(t * lx + (1 - t) * l1x)

    def backward(self, gy):
        x, t = self.saved_inputs()
        gx = gy * (x - t) / clamp(x * (1 - x), min=1e-12) if self.needs_input_grad[0] else None
        gt = gy * (clamp(log(1 - x), min=-100) - clamp(log(x), min=-100)) if self.needs_input_grad[1] else None
        return gx, gt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1]; logs clamped at -100."""
    target = _as_target(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    x = input.array
    if x.size and (float(x.min()) < 0 or float(x.max()) > 1):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                           "(use binary_cross_entropy_with_logits for logits)")
    loss = BinaryCrossEntropy()(input, target.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(x), computed stably: (1 - t) x + (1 + (p - 1) t) softplus(-x), p = ``pos_weight``
    (broadcast along the last, class, dimension)."""
    target = _as_target(target, input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    sp = Softplus()(-input)                     # -log sigmoid(x)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ------------------------------------------------------------------------------------ classification

def _class_last(input):
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if input.ndim == 1:
        return reshape(input, 1, -1)
    if input.ndim > 2:
        input = permute(input, 0, *range(2, input.ndim), 1)
    return reshape(input, -1, input.shape[-1])


def _check_targets(name, input, target, ignore_index):
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected class-index targets of an integer dtype (int64), got "
                           f"{dtypes.name(target.dtype)}")
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim > 1 else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"{name}: expected target of shape {expected} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    if target.device != input.device:
        raise RuntimeError(f"{name}: the target is on {target.device} but the input is on {input.device}")
    C = input.shape[1] if input.ndim > 1 else input.shape[0]
    t = target.array
    bad = (t < 0) | (t >= C)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        raise IndexError(f"{name}: Target {int(t[bad].reshape(-1)[0])} is out of bounds for {C} classes")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t_i] x[i, t_i] for log-probabilities x (N, C) or (N, C, d1, ...) and class indices t (N, ...).

    Targets equal to ``ignore_index`` contribute 0; 'mean' divides by the sum of w[t_i] over the rest.
    """
    _check_targets("nll_loss", input, target, ignore_index)
    x = _class_last(input)
    t = target.array.reshape(-1)
    xp = input._xp
    keep = t != ignore_index
    safe = xp.where(keep, t, 0)
    picked = getitem(x, (xp.arange(x.shape[0]), safe))
    w = Tensor._wrap(keep.astype(input.dtype))
    if weight is not None:
        w = getitem(weight, safe) * w
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "none":
        return reshape(loss, target.shape)
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits x (N, C) or (N, C, d1, ...) (or (C,)) against class indices (N, ...) or
    class probabilities (same shape as x): nll_loss(log_softmax(x, 1), t), stable for logits of 1e4.

    With ``label_smoothing`` = e the target becomes (1 - e) one_hot + e / C; for index targets that is
    (1 - e) nll + (e / C) * sum_c(-w_c log p_c), the second term reduced like nll (PyTorch's formula).
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    class_dim = 1 if input.ndim > 1 else 0
    C = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    wshape = [1] * input.ndim
    wshape[class_dim] = C
    if target.dtype.kind == "f":                       # class probabilities
        _check_same_shape("cross_entropy", input, target)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / C
        prod = logp * target
        if weight is not None:
            prod = prod * reshape(weight, wshape)
        if reduction == "mean":
            return -prod.sum() / (input.numel() // C) if input.numel() else -prod.sum()
        return _reduce(-sum(prod, class_dim), reduction, "cross_entropy")

    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    ignored = Tensor._wrap(target.array == ignore_index)
    per_class = logp * reshape(weight, wshape) if weight is not None else logp
    smooth = where(ignored, scalar_like(0.0, logp), -sum(per_class, class_dim))
    if reduction == "mean":
        t = target.array
        keep = t != ignore_index
        denom = (weight.array[t[keep]].sum() if weight is not None else keep.sum())
        smooth = smooth.sum() / Tensor._wrap(input._xp.asarray(denom, dtype=input.dtype))
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / C)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """The multiclass SVM (hinge) loss of scores x (N, C) or (C,) and class indices t:

        loss_i = sum_{j != t_i} w[t_i] max(0, margin - x[i, t_i] + x[i, j])^p / C

    and 'mean' averages over the N samples. The CS231n multiclass SVM loss (Δ = margin, p = 1, no weight)
    is (1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + Δ): the same sum without the division by C,
    so ``cs231n_loss == C * multi_margin_loss(scores, y)``.
    """
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    if input.ndim not in (1, 2):
        raise ValueError(f"multi_margin_loss: expected input of 1 or 2 dimensions, got shape {tuple(input.shape)}")
    _check_targets("multi_margin_loss", input, target, ignore_index=None)
    x = reshape(input, 1, -1) if input.ndim == 1 else input
    N, C = x.shape
    xp = input._xp
    t = target.array.reshape(-1)
    rows = xp.arange(N)
    x_t = reshape(getitem(x, (rows, t)), N, 1)
    m = clamp(x - x_t + margin, min=0.0)
    if p == 2:
        m = m * m
    others = xp.ones((N, C), dtype=input.dtype)
    others[rows, t] = 0
    m = m * Tensor._wrap(others)
    if weight is not None:
        m = m * reshape(getitem(weight, t), N, 1)
    loss = sum(m, 1) / C
    if input.ndim == 1:
        loss = reshape(loss, ())
    return _reduce(loss, reduction, "multi_margin_loss")


# ------------------------------------------------------------------------------------ distributions

def kl_div(input, target, reduction="mean", log_target=False):
    """Pointwise KL divergence t (log t - x) for log-probabilities x (0 where t = 0), or
    e^t (t - x) when ``log_target``. 'batchmean' divides the sum by the batch size (the true KL per
    sample); 'mean' divides by the number of elements, as PyTorch does."""
    target = _as_target(target, input)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        pos = target > 0
        safe = where(pos, target, scalar_like(1.0, target))
        loss = where(pos, target * log(safe), scalar_like(0.0, target)) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")

