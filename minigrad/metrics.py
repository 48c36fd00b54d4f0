"""Metrics that do not need gradients."""
from __future__ import annotations

from .tensor import Tensor


def accuracy(output, target, topk=(1,)):
    """Top-k accuracies in percent for scores ``output`` (N, C) and class indices ``target`` (N,), as in
    PyTorch's ImageNet example: ``acc1, acc5 = accuracy(output, target, topk=(1, 5))``, each a float32
    tensor of shape (1,) (``acc1.item()``, ``acc1[0]``). A sample counts as right for k when its class is
    among its k highest scores (ties broken by the lower class index)."""
    if output.ndim != 2 or target.shape != output.shape[:1]:
        raise ValueError(f"accuracy: expected output (N, C) and target (N,), got {tuple(output.shape)} and "
                         f"{tuple(target.shape)}")
    N, C = output.shape
    maxk = max(topk)
    if maxk > C:
        raise ValueError(f"accuracy: top-{maxk} asked for, but the output has only {C} classes")
    xp = output._xp
    scores = output.array
    pred = xp.argsort(-scores, axis=1, kind="stable")[:, :maxk]           # (N, maxk)
    correct = pred == target.array.reshape(-1, 1)
    res = []
    for k in topk:
        hits = int(correct[:, :k].sum())
        res.append(Tensor._wrap(xp.asarray([hits * 100.0 / max(N, 1)], dtype="float32")))
    return res
