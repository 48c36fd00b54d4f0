"""Normalisation: one primitive, :class:`Standardize` (standardise over some axes, with the fused
backward), and batch_norm, layer_norm and group_norm built on it."""
from __future__ import annotations

from .. import backend
from ..autograd import Function, is_grad_enabled, no_grad
from ..tensor import Tensor
from .reduce import mean
from .shape import reshape


class Standardize(Function):
    """xhat = (x - mean) / sqrt(var + eps) over ``axes`` (biased variance).

    Backward is the fused one-expression form, with M the number of elements reduced and g = gy:
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    It is written with minigrad ops on xhat (the output) and rstd; when a graph is being recorded
    (``create_graph=True``) rstd is recomputed from x with minigrad ops, so the op is twice differentiable.
    The per-slice mean and biased variance are kept as ``self.mean`` / ``self.var`` for running statistics.
    """
    save_output = True

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        xp = self.xp
        self.mean = x.mean(axis=self.axes, keepdims=True)
        d = x - self.mean
        self.var = (d * d).mean(axis=self.axes, keepdims=True)
        self.rstd = (1.0 / xp.sqrt(self.var + self.eps)).astype(x.dtype, copy=False)
        return (d * self.rstd).astype(x.dtype, copy=False)

    def backward(self, gy):
        xhat = self.saved_output()
        if is_grad_enabled():     # create_graph: rstd as a function of x
            x, = self.saved_inputs()
            d = x - mean(x, self.axes, keepdim=True)
            rstd = (mean(d * d, self.axes, keepdim=True) + self.eps) ** -0.5
        else:
            rstd = self.wrap(self.rstd)
        return rstd * (gy - mean(gy, self.axes, keepdim=True) - xhat * mean(gy * xhat, self.axes, keepdim=True))


def standardize(x, axes, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over ``axes`` (a tuple of non-negative ints); biased variance."""
    return Standardize(tuple(axes), eps)(x)


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation of x (N, C, *) per channel C.

    Training: normalise with the batch's mean and biased variance over (N, *), and update the running
    statistics in place (when given): r <- (1 - momentum) r + momentum s, with the UNBIASED batch variance
    for ``running_var``. Eval (``training=False``): normalise with the running statistics. Then
    y = xhat * weight + bias per channel. The backward of the training path is the fused form of
    :class:`Standardize` (twice differentiable); the eval path is a composite of primitives.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dimensions (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise RuntimeError(f"batch_norm: {name} should have shape ({C},) for an input with {C} channels "
                               f"(shape {tuple(input.shape)}), got {tuple(t.shape)}")
    shape = _channel_shape(input)
    if training:
        axes = (0,) + tuple(range(2, input.ndim))
        n = input.numel() // C
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{tuple(input.shape)}")
        op = Standardize(axes, eps)
        y = op(input)
        with no_grad(), backend.on(input.device):
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(Tensor._wrap(op.mean.reshape(C).astype(running_mean.dtype)),
                                                     alpha=momentum)
            if running_var is not None:
                unbiased = op.var.reshape(C) * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(Tensor._wrap(unbiased.astype(running_var.dtype)),
                                                    alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed when training=False")
        rm = reshape(running_mean.detach(), shape).to(input.dtype)
        rv = reshape(running_var.detach(), shape).to(input.dtype)
        y = (input - rm) * (rv + eps) ** -0.5
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions (biased variance), then
    y = xhat * weight + bias, weight and bias of shape ``normalized_shape``."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or k > input.ndim:
        raise RuntimeError(f"layer_norm: normalized_shape {list(normalized_shape)} does not match the trailing "
                           f"dimensions of the input of shape {tuple(input.shape)}")
    y = Standardize(tuple(range(input.ndim - k, input.ndim)), eps)(input)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of x (N, C, *) into ``num_groups`` groups and normalise each (sample, group)
    over its channels and positions; then y = xhat * weight + bias per channel."""
    N, C = input.shape[:2]
    if C % num_groups:
        raise RuntimeError(f"group_norm: num_channels {C} must be divisible by num_groups {num_groups}")
    xg = reshape(input, N, num_groups, -1)
    y = reshape(Standardize((2,), eps)(xg), input.shape)
    shape = _channel_shape(input)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y



def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) of x (N, C, *) over its positions; per-channel affine.

    With ``use_input_stats`` the running statistics (when given) move toward the batch average of the
    instance means and UNBIASED instance variances; otherwise they normalise, as in batch_norm's eval.
    """
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of 3 or more dimensions (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    C = input.shape[1]
    axes = tuple(range(2, input.ndim))
    n = input.numel() // (input.shape[0] * C)
    if n <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
    op = Standardize(axes, eps)
    y = op(input)
    with no_grad():
        if running_mean is not None:
            m = op.mean.reshape(-1, C).mean(axis=0)
            running_mean.mul_(1 - momentum).add_(Tensor._wrap(m.astype(running_mean.dtype)), alpha=momentum)
        if running_var is not None:
            v = (op.var.reshape(-1, C) * (n / (n - 1))).mean(axis=0)
            running_var.mul_(1 - momentum).add_(Tensor._wrap(v.astype(running_var.dtype)), alpha=momentum)
    shape = _channel_shape(input)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y
